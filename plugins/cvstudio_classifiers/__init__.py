"""Built-in classical classifiers, all from scikit-learn.

cvstudio standardises features before any classifier, so these factories
return the bare estimator.
"""

from cvstudio import ClassifierSpec, Param, hookimpl

_C = Param(
    "C", "float", 1.0, minimum=1e-4, maximum=1e4, log=True,
    help="Regularisation: small C prefers a simple boundary, large C fits the training data closely.",
)


@hookimpl
def cvstudio_register_classifiers() -> list[ClassifierSpec]:
    return [
        ClassifierSpec(
            name="linear-svm",
            title="Linear SVM",
            description=(
                "A support vector machine with a straight (linear) decision boundary: it finds the "
                "hyperplane that separates the classes with the widest margin. Fast and strong when "
                "the features already make the classes separable."
            ),
            factory="cvstudio_classifiers.estimators:linear_svm",
            params=(_C,),
        ),
        ClassifierSpec(
            name="rbf-svm",
            title="RBF SVM",
            description=(
                "A support vector machine with a radial-basis kernel: it can draw curved boundaries "
                "around groups of similar examples. The classic companion of HOG features."
            ),
            factory="cvstudio_classifiers.estimators:rbf_svm",
            params=(
                Param("C", "float", 10.0, minimum=1e-4, maximum=1e4, log=True, help=_C.help),
                Param("gamma", "choice", "scale", choices=("scale", "auto"),
                      help="Kernel width; 'scale' adapts it to the feature variance."),
            ),
        ),
        ClassifierSpec(
            name="logistic-regression",
            title="Logistic regression",
            description=(
                "A linear model that outputs a probability for each class. The same thing a "
                "neural network's last layer computes, trained on fixed features."
            ),
            factory="cvstudio_classifiers.estimators:logistic_regression",
            params=(_C,),
        ),
        ClassifierSpec(
            name="knn",
            title="k-nearest neighbours",
            description=(
                "Labels an image by a vote of the k most similar training images in feature space. "
                "No training at all: it only works if similar features mean the same class."
            ),
            factory="cvstudio_classifiers.estimators:knn",
            params=(Param("k", "int", 5, minimum=1, maximum=100, help="How many neighbours vote."),),
        ),
        ClassifierSpec(
            name="random-forest",
            title="Random forest",
            description=(
                "Many decision trees, each trained on a random part of the data and features, "
                "voting together. Robust and needs little tuning."
            ),
            factory="cvstudio_classifiers.estimators:random_forest",
            params=(
                Param("trees", "int", 200, minimum=1, maximum=2000, help="Number of trees."),
                Param("seed", "int", 0, minimum=0, help="Random seed for reproducible forests."),
            ),
        ),
    ]
