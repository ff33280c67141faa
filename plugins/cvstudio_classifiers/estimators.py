"""Factories for the built-in classifiers (scikit-learn is imported here, on first use)."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC, LinearSVC


def linear_svm(C: float) -> LinearSVC:
    return LinearSVC(C=C, max_iter=5000)


def rbf_svm(C: float, gamma: str) -> SVC:
    return SVC(C=C, gamma=gamma, kernel="rbf")


def logistic_regression(C: float) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=2000)


def knn(k: int) -> KNeighborsClassifier:
    return KNeighborsClassifier(n_neighbors=k)


def random_forest(trees: int, seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=-1)
