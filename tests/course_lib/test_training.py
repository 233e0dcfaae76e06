"""The fit loop: history, repeatability, early stopping, schedules, clear errors."""
import numpy as np
import pytest

from course_lib import data, losses, nn, optim, training
from course_lib.regularization import EarlyStopping


@pytest.fixture(scope="module")
def moons():
    X, y = data.moons(300, noise=0.2, seed=0)
    return X[:200], y[:200], X[200:], y[200:]


def _fit(moons, **kwargs):
    X, y, Xv, yv = moons
    model = nn.mlp([2, 16, 2], seed=0)
    options = dict(optimizer="sgd", lr=0.1, epochs=5, batch_size=16, seed=0,
                   validation_data=(Xv, yv))
    options.update(kwargs)
    return model, training.fit(model, X, y, **options)


def test_history_has_one_row_per_epoch_and_learning_happens(moons):
    _, history = _fit(moons, epochs=30)
    assert history.epoch == list(range(1, 31)) and len(history) == 30
    for column in ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]:
        assert len(history[column]) == 30
    assert history.train_loss[-1] < 0.6 * history.train_loss[0]
    assert history.val_accuracy[-1] > 0.85


def test_same_seed_same_run_other_seed_other_run(moons):
    _, a = _fit(moons)
    _, b = _fit(moons)
    _, c = _fit(moons, seed=1)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss
    assert a.train_loss != c.train_loss


def test_train_loss_is_the_mean_over_the_epoch_of_batch_losses(moons):
    X, y, _, _ = moons
    model = nn.mlp([2, 4, 2], seed=0)
    history = training.fit(model, X, y, optimizer="sgd", lr=0.0, epochs=1, batch_size=len(X))
    loss, accuracy = training.evaluate(model, X, y)
    assert history.train_loss[0] == pytest.approx(loss)
    assert history.train_accuracy[0] == pytest.approx(accuracy)


def test_early_stopping_stops_and_restores_the_best_epoch(moons):
    X, y, Xv, yv = moons
    model = nn.mlp([2, 64, 64, 2], seed=0)
    stopper = EarlyStopping(patience=3)
    # A learning rate this large makes the validation loss bounce, so it stops early.
    history = training.fit(model, X, y, optimizer="sgd", lr=2.0, epochs=200, batch_size=8,
                           validation_data=(Xv, yv), early_stopping=stopper, seed=0)
    assert history.stopped_early and len(history) < 200
    best = history.best_epoch
    assert history.val_loss[best - 1] == min(history.val_loss)
    assert len(history) == best + 3
    restored_loss, _ = training.evaluate(model, Xv, yv)
    assert restored_loss == pytest.approx(history.val_loss[best - 1])


def test_schedule_is_stepped_once_per_epoch(moons):
    X, y, _, _ = moons
    model = nn.mlp([2, 8, 2], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.4)
    history = training.fit(model, X, y, optimizer=opt, schedule=optim.StepDecay(opt, 2, 0.5),
                           epochs=6, batch_size=50)
    assert history.lr == [0.4, 0.4, 0.2, 0.2, 0.1, 0.1]


def test_regression_has_no_accuracy():
    x, t = data.function_1d("sine", 64, seed=0)
    model = nn.mlp([1, 16, 1], activation="tanh", seed=0)
    history = training.fit(model, x, t, loss="mean_squared_error", optimizer="adam", lr=1e-2,
                           epochs=3, batch_size=16, seed=0)
    assert history.train_accuracy == [None] * 3


def test_clear_errors(moons):
    X, y, _, _ = moons
    model = nn.mlp([2, 4, 2], seed=0)
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        training.fit(model, X, y, optimizer="adamw")
    with pytest.raises(ValueError, match="unknown loss"):
        training.fit(model, X, y, loss="cross_entropy")
    with pytest.raises(ValueError, match="X has 200 examples but y has 199"):
        training.fit(model, X, y[:-1])
    with pytest.raises(ValueError, match="pass validation_data"):
        training.fit(model, X, y, early_stopping=3)
    with pytest.raises(ValueError, match=r"expects x of shape \(N, 2\), got \(16, 3\)"):
        training.fit(model, np.zeros((16, 3)), np.zeros(16, int))
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        training.fit(nn.mlp([2, 64, 1], seed=0), X * 1e3, (y * 1e3)[:, None],
                     loss="mean_squared_error", lr=10.0, epochs=3)


def test_mlp_classifier_has_the_scikit_learn_interface(moons):
    X, y, Xv, yv = moons
    labels = np.array(["cat", "dog"])[y]
    clf = training.MLPClassifier(hidden=(16,), epochs=40, lr=1e-2, seed=0).fit(X, labels)
    assert set(clf.predict(Xv)) <= {"cat", "dog"}
    proba = clf.predict_proba(Xv)
    assert proba.shape == (len(Xv), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(Xv, np.array(["cat", "dog"])[yv]) > 0.85
    stopped = training.MLPClassifier(hidden=(16,), epochs=500, lr=1e-2, early_stopping=5,
                                     seed=0).fit(X, y)
    assert stopped.history_.stopped_early


def test_a_loss_of_ones_own_can_be_declared_a_classification_loss(moons):
    X, y, Xv, yv = moons

    def my_cross_entropy(scores, labels):
        return losses.softmax_cross_entropy(scores, labels)

    model = nn.mlp([2, 8, 2], seed=0)
    guessed = training.fit(model, X, y, loss=my_cross_entropy, epochs=2, validation_data=(Xv, yv))
    assert guessed.train_accuracy == [None, None] and guessed.val_accuracy == [None, None]
    declared = training.fit(model, X, y, loss=my_cross_entropy, epochs=2,
                            validation_data=(Xv, yv), classification=True)
    assert all(0 <= a <= 1 for a in declared.train_accuracy + declared.val_accuracy)
