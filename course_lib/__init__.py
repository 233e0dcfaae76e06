"""course_lib: the numpy reference library of Foundations of Deep Learning.

One concept per module, in the order the book teaches them:

    neuron        threshold logic unit, perceptron, logistic neuron
    activations   activation functions and their derivatives
    losses        losses returning (loss, gradient with respect to the model's output)
    layers        forward/backward function pairs (linear, activations, maxout, dropout, batchnorm)
    nn            modules holding parameters and gradients: Linear, BatchNorm, Sequential, mlp
    graph         a flow-graph (computational graph) reverse-mode autodiff
    init          weight initialization schemes
    optim         optimizers and learning-rate schedules
    regularization  L2 penalty, early stopping
    model_selection train/validation splits, cross-validation, grid and random search
    data          offline datasets, standardization, one-hot encoding, mini-batches
    gradcheck     finite-difference gradient checking
    training      the fit loop and its history
    diagnostics   per-layer activations and gradients (vanishing gradients, dead units)
    plots         decision boundaries, learning curves, histograms, function fits

Everything is float64 by default; every public function documents its shapes.
"""
from ._validation import ShapeError

__all__ = ["ShapeError"]
