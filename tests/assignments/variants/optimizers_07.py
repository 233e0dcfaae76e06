"""Assignment 07-optimizers: realistic mistakes and correct alternatives."""

# The constructors as the notebook gives them; variants change the state and the update.
MOMENTUM_INIT = '''
class Momentum(optim.Optimizer):
    def __init__(self, params, lr=0.01, momentum=0.9, weight_decay=0.0, *, decay_all=False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.momentum = momentum
'''
ADAGRAD_INIT = '''
class AdaGrad(optim.Optimizer):
    def __init__(self, params, lr=0.01, eps=1e-8, weight_decay=0.0, *, decay_all=False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.eps = eps
'''
RMSPROP_INIT = '''
class RMSProp(optim.Optimizer):
    def __init__(self, params, lr=0.001, rho=0.9, eps=1e-8, weight_decay=0.0, *,
                 decay_all=False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.rho, self.eps = rho, eps
'''
ADAM_INIT = '''
class Adam(optim.Optimizer):
    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, *,
                 decay_all=False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
'''
ADAM_STATE = '''
        self.t = 0
        self.m = self._state()
        self.v = self._state()

    def step(self):
        self.t += 1
        super().step()
'''


def adam(update: str, state: str = ADAM_STATE) -> str:
    return ADAM_INIT + state + update


BUGGY = {
    # `v = ...` makes a new array and drops it: the stored state stays zero, so momentum is
    # gradient descent and RMSProp divides by sqrt((1 - rho) g^2) at every step.
    "state rebound instead of stored (momentum, RMSProp)": ({
        "momentum": MOMENTUM_INIT + '''
        self.velocities = self._state()

    def _update(self, i, w, g, tmp):
        v = self.velocities[i]
        v = self.momentum * v - self.lr * g
        w += v
''',
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        S = self.mean_squares[i]
        S = self.rho * S + (1 - self.rho) * g * g
        w -= self.lr * g / (np.sqrt(S) + self.eps)
'''}, {"test_momentum", "test_rmsprop"}),
    "momentum climbs the gradient; AdaGrad rebinds w": ({
        "momentum": MOMENTUM_INIT + '''
        self.velocities = self._state()

    def _update(self, i, w, g, tmp):
        v = self.velocities[i]
        v *= self.momentum
        v += self.lr * g
        w += v
''',
        "adagrad": ADAGRAD_INIT + '''
        self.sum_squares = self._state()

    def _update(self, i, w, g, tmp):
        self.sum_squares[i] += g * g
        w = w - self.lr * g / (np.sqrt(self.sum_squares[i]) + self.eps)
'''}, {"test_momentum", "test_adagrad"}),
    # Momentum in the other common form: right while lr is constant, wrong once a schedule
    # changes it. Adam with t = 0 during the first step: 1 - beta^0 = 0, a division by zero.
    "momentum with lr outside the velocity; Adam increments t after the update": ({
        "momentum": MOMENTUM_INIT + '''
        self.velocities = self._state()

    def _update(self, i, w, g, tmp):
        v = self.velocities[i]
        v *= self.momentum
        v += g
        w -= self.lr * v
''',
        "adam": adam('''
    def _update(self, i, w, g, tmp):
        m, v = self.m[i], self.v[i]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1 ** self.t)
        v_hat = v / (1 - self.beta2 ** self.t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
''', state='''
        self.t = 0
        self.m = self._state()
        self.v = self._state()

    def step(self):
        super().step()
        self.t += 1
''')}, {"test_momentum", "test_adam"}),
    "one state for all the parameters (momentum, Adam)": ({
        "momentum": MOMENTUM_INIT + '''
        self.velocity = 0.0

    def _update(self, i, w, g, tmp):
        self.velocity = self.momentum * self.velocity - self.lr * g
        w += self.velocity
''',
        "adam": adam('''
    def _update(self, i, w, g, tmp):
        self.m_all = self.beta1 * getattr(self, "m_all", 0.0) + (1 - self.beta1) * g
        self.v_all = self.beta2 * getattr(self, "v_all", 0.0) + (1 - self.beta2) * g * g
        m_hat = self.m_all / (1 - self.beta1 ** self.t)
        v_hat = self.v_all / (1 - self.beta2 ** self.t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
''')}, {"test_momentum", "test_adam"}),
    "eps inside the square root (AdaGrad, RMSProp)": ({
        "adagrad": ADAGRAD_INIT + '''
        self.sum_squares = self._state()

    def _update(self, i, w, g, tmp):
        self.sum_squares[i] += g * g
        w -= self.lr * g / np.sqrt(self.sum_squares[i] + self.eps)
''',
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        S = self.mean_squares[i]
        S *= self.rho
        S += (1 - self.rho) * g * g
        w -= self.lr * g / np.sqrt(S + self.eps)
'''}, {"test_adagrad", "test_rmsprop"}),
    "AdaGrad keeps only the last square; RMSProp swaps rho and 1 - rho": ({
        "adagrad": ADAGRAD_INIT + '''
        self.sum_squares = self._state()

    def _update(self, i, w, g, tmp):
        self.sum_squares[i][...] = g * g
        w -= self.lr * g / (np.sqrt(self.sum_squares[i]) + self.eps)
''',
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        S = self.mean_squares[i]
        S *= 1 - self.rho
        S += self.rho * g * g
        w -= self.lr * g / (np.sqrt(S) + self.eps)
'''}, {"test_adagrad", "test_rmsprop"}),
    # 0 / 0 where a coordinate's gradient has always been zero: nan and a warning.
    "no eps (RMSProp, Adam)": ({
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        S = self.mean_squares[i]
        S *= self.rho
        S += (1 - self.rho) * g * g
        w -= self.lr * g / np.sqrt(S)
''',
        "adam": adam('''
    def _update(self, i, w, g, tmp):
        m, v = self.m[i], self.v[i]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        w -= self.lr * (m / (1 - self.beta1 ** self.t)) / np.sqrt(v / (1 - self.beta2 ** self.t))
''')}, {"test_rmsprop", "test_adam"}),
    "Adam without bias correction": ({"adam": adam('''
    def _update(self, i, w, g, tmp):
        m, v = self.m[i], self.v[i]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        w -= self.lr * m / (np.sqrt(v) + self.eps)
''')}, {"test_adam"}),
    # Right with a single parameter; with three, t advances three times per step.
    "Adam counts t in _update": ({"adam": adam('''
    def _update(self, i, w, g, tmp):
        self.t += 1
        m, v = self.m[i], self.v[i]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1 ** self.t)
        v_hat = v / (1 - self.beta2 ** self.t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
''', state='''
        self.t = 0
        self.m = self._state()
        self.v = self._state()
''')}, {"test_adam"}),
    # RMSProp's steps are right, but the parameter's .grad is overwritten with the scaled one.
    "RMSProp divides g in place; Adam corrects m but not v": ({
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        S = self.mean_squares[i]
        S *= self.rho
        S += (1 - self.rho) * g * g
        g /= np.sqrt(S) + self.eps
        w -= self.lr * g
''',
        "adam": adam('''
    def _update(self, i, w, g, tmp):
        m, v = self.m[i], self.v[i]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        w -= self.lr * (m / (1 - self.beta1 ** self.t)) / (np.sqrt(v) + self.eps)
''')}, {"test_rmsprop", "test_adam"}),
    "uses course_lib's optimizers (momentum delegates, Adam subclasses)": ({
        "momentum": MOMENTUM_INIT + '''
        self.inner = optim.Momentum(self.params, lr=lr, momentum=momentum)

    def _update(self, i, w, g, tmp):
        self.inner.lr = self.lr
        self.inner._update(i, w, g, tmp)
''',
        "adam": '''
class Adam(optim.Adam):
    """Adam."""
'''}, {"test_momentum", "test_adam"}),
    # Tampering: a wrong AdaGrad, and the shared course_lib modules patched to agree with it.
    "patches course_lib to agree with a wrong AdaGrad": ({"adagrad": ADAGRAD_INIT + '''
        self.sum_squares = self._state()

    def _update(self, i, w, g, tmp):
        self.sum_squares[i] += g * g
        w -= self.lr * g / np.sqrt(self.sum_squares[i] + self.eps)


import course_lib.testing
optim.AdaGrad._update = AdaGrad._update
course_lib.testing.check_close = lambda *args, **kwargs: None
course_lib.testing.check_no_warnings = lambda *args, **kwargs: None
'''}, {"test_adagrad"}),
}

CORRECT = {
    # New arrays stored back into the state lists; Adam counts its steps per parameter.
    "new arrays instead of in-place state": {
        "momentum": MOMENTUM_INIT + '''
        self.velocities = [np.zeros(p.value.shape) for p in self.params]

    def _update(self, i, w, g, tmp):
        self.velocities[i] = self.momentum * self.velocities[i] - self.lr * g
        w += self.velocities[i]
''',
        "adagrad": ADAGRAD_INIT + '''
        self.sum_squares = [0.0] * len(self.params)

    def _update(self, i, w, g, tmp):
        self.sum_squares[i] = self.sum_squares[i] + g ** 2
        w[...] = w - self.lr * g / (self.sum_squares[i] ** 0.5 + self.eps)
''',
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        self.mean_squares[i] = self.rho * self.mean_squares[i] + (1 - self.rho) * np.square(g)
        w -= self.lr * g / (np.sqrt(self.mean_squares[i]) + self.eps)
''',
        "adam": ADAM_INIT + '''
        self.steps = [0] * len(self.params)
        self.m = self._state()
        self.v = self._state()

    def _update(self, i, w, g, tmp):
        self.steps[i] += 1
        t = self.steps[i]
        self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
        self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g ** 2
        m_hat = self.m[i] / (1 - self.beta1 ** t)
        v_hat = self.v[i] / (1 - self.beta2 ** t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
''',
    },
    "loops over the coordinates": {
        "momentum": MOMENTUM_INIT + '''
        self.velocities = self._state()

    def _update(self, i, w, g, tmp):
        v = self.velocities[i]
        for index in np.ndindex(*w.shape):
            v[index] = self.momentum * v[index] - self.lr * g[index]
            w[index] += v[index]
''',
        "adagrad": ADAGRAD_INIT + '''
        self.sum_squares = self._state()

    def _update(self, i, w, g, tmp):
        import math
        G = self.sum_squares[i]
        for index in np.ndindex(*w.shape):
            G[index] += g[index] ** 2
            w[index] -= self.lr * g[index] / (math.sqrt(G[index]) + self.eps)
''',
        "rmsprop": RMSPROP_INIT + '''
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        import math
        S = self.mean_squares[i]
        for index in np.ndindex(*w.shape):
            S[index] = self.rho * S[index] + (1 - self.rho) * g[index] ** 2
            w[index] -= self.lr * g[index] / (math.sqrt(S[index]) + self.eps)
''',
        "adam": adam('''
    def _update(self, i, w, g, tmp):
        import math
        m, v = self.m[i], self.v[i]
        for index in np.ndindex(*w.shape):
            m[index] = self.beta1 * m[index] + (1 - self.beta1) * g[index]
            v[index] = self.beta2 * v[index] + (1 - self.beta2) * g[index] ** 2
            m_hat = m[index] / (1 - self.beta1 ** self.t)
            v_hat = v[index] / (1 - self.beta2 ** self.t)
            w[index] -= self.lr * m_hat / (math.sqrt(v_hat) + self.eps)
'''),
    },
    # out= arguments into tmp, state in a dict created on first use, Adam's bias corrections
    # folded into two scalars, and t advanced with the first parameter of each step.
    "scratch arrays, lazy state, folded corrections": {
        "momentum": MOMENTUM_INIT + '''
        self.state = {}

    def _update(self, i, w, g, tmp):
        v = self.state.setdefault(i, np.zeros_like(w))
        np.multiply(g, self.lr, out=tmp)
        v *= self.momentum
        v -= tmp
        w += v
''',
        "adagrad": ADAGRAD_INIT + '''
        self.state = {}

    def _update(self, i, w, g, tmp):
        G = self.state.setdefault(i, np.zeros_like(w))
        np.multiply(g, g, out=tmp)
        G += tmp
        np.sqrt(G, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        w -= tmp
''',
        "rmsprop": RMSPROP_INIT + '''
        self.state = {}

    def _update(self, i, w, g, tmp):
        S = self.state.setdefault(i, np.zeros_like(w))
        S += (1 - self.rho) * (g * g - S)
        np.sqrt(S, out=tmp)
        tmp += self.eps
        w -= self.lr * g / tmp
''',
        "adam": ADAM_INIT + '''
        self.t = 0
        self.m = self._state()
        self.v = self._state()

    def _update(self, i, w, g, tmp):
        if i == 0:
            self.t += 1
        m, v = self.m[i], self.v[i]
        m += (1 - self.beta1) * (g - m)
        v += (1 - self.beta2) * (g * g - v)
        root_c2 = (1 - self.beta2 ** self.t) ** 0.5
        step = self.lr * root_c2 / (1 - self.beta1 ** self.t)
        w -= step * m / (np.sqrt(v) + self.eps * root_c2)
''',
    },
}
