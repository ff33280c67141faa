import numpy as np

from cvstudio.core.evaluation import Evaluation, evaluate


def test_metrics_match_hand_computation():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([
        [0.9, 0.1, 0.0], [0.2, 0.7, 0.1],   # 0→0, 0→1
        [0.1, 0.8, 0.1], [0.1, 0.6, 0.3],   # 1→1, 1→1
        [0.3, 0.1, 0.6], [0.5, 0.4, 0.1],   # 2→2, 2→0
    ])
    ev = evaluate(labels, probs, ("a", "b", "c"), indices=np.arange(10, 16))
    assert ev.accuracy == 4 / 6
    assert ev.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    a, b, c = ev.per_class()
    assert (a.precision, a.recall) == (0.5, 0.5)
    assert b.precision == 2 / 3 and b.recall == 1.0 and abs(b.f1 - 0.8) < 1e-9
    assert c.precision == 1.0 and c.recall == 0.5 and c.support == 2


def test_cell_lists_images_most_confident_first_and_round_trips():
    labels = np.array([0, 0, 0, 1])
    probs = np.array([[0.4, 0.6], [0.1, 0.9], [0.9, 0.1], [0.2, 0.8]])
    ev = evaluate(labels, probs, ("a", "b"), indices=np.array([7, 8, 9, 10]))
    cell = ev.cell(0, 1)
    assert ev.indices[cell].tolist() == [8, 7]
    again = Evaluation.from_dict(ev.to_dict())
    assert again.confusion.tolist() == ev.confusion.tolist()
    assert again.indices[again.cell(0, 1)].tolist() == [8, 7]
