"""Assignment 08-dropout: realistic mistakes and correct alternatives."""


def forward(train_branch: str, eval_branch: str = "        return x, None\n") -> str:
    """A dropout_forward with the given code for each mode (8-space indented)."""
    return ("\ndef dropout_forward(x, p, train, rng):\n    if not train:\n" + eval_branch
            + train_branch)


def layer(init: str, forward_body: str, backward_body: str) -> str:
    return ('''
class Dropout(nn.Module):
    def __init__(self, p=0.5, seed=None):
''' + init + '''
    def forward(self, x):
''' + forward_body + '''
    def backward(self, dout):
''' + backward_body)


INIT = '''        self.p = p
        self.rng = np.random.default_rng(seed)
'''
FORWARD = '''        out, self.cache = dropout_forward(x, self.p, self.training, self.rng)
        return out
'''
BACKWARD = '''        return dropout_backward(dout, self.cache)
'''

BUGGY = {
    "scales the kept units by p instead of 1 / (1 - p)": ({"dropout_forward": forward('''
    mask = (rng.random(x.shape) >= p) * p
    return x * mask, mask
''')}, {"test_forward_train"}),
    # Plain (not inverted) dropout, and a backward that forgets the scale as well.
    "no scaling, in the forward and in the backward": ({
        "dropout_forward": forward('''
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask
'''),
        "dropout_backward": '''
def dropout_backward(dout, cache):
    if cache is None:
        return dout
    return dout * (cache != 0)
'''}, {"test_forward_train", "test_backward"}),
    # The original recipe's test-time rule, on top of inverted dropout's training rule.
    "scales by 1 - p at evaluation time": ({"dropout_forward": forward('''
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask
''', eval_branch="        return x * (1 - p), None\n")}, {"test_forward_eval"}),
    # Statistically right, but not the mask the notebook specifies.
    "keeps where the number is < 1 - p": ({"dropout_forward": forward('''
    mask = (rng.random(x.shape) < 1 - p) / (1 - p)
    return x * mask, mask
''')}, {"test_forward_train"}),
    "p taken as the probability of keeping a unit": ({"dropout_forward": forward('''
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask
''')}, {"test_forward_train"}),
    # A generator of its own: the same mask at every call. The backward ignores the mask.
    "own generator inside the function; backward without the mask": ({
        "dropout_forward": forward('''
    mask = (np.random.default_rng(0).random(x.shape) >= p) / (1 - p)
    return x * mask, mask
'''),
        "dropout_backward": '''
def dropout_backward(dout, cache):
    return dout
'''}, {"test_forward_train", "test_backward"}),
    # One mask for the whole batch (the shape of one example), broadcast over the rows.
    "one mask shared by all the examples": ({"dropout_forward": forward('''
    mask = (rng.random(x.shape[-1]) >= p) / (1 - p)
    return x * mask, mask
''')}, {"test_forward_train"}),
    "forward and backward modify their inputs in place": ({
        "dropout_forward": forward('''
    mask = (rng.random(x.shape) >= p) / (1 - p)
    x *= mask
    return x, mask
'''),
        "dropout_backward": '''
def dropout_backward(dout, cache):
    if cache is None:
        return dout
    dout *= cache
    return dout
'''}, {"test_forward_train", "test_backward"}),
    "the layer re-creates its generator from the seed at every forward": ({
        "dropout_layer": layer('''        self.p, self.seed = p, seed
''', '''        out, self.cache = dropout_forward(x, self.p, self.training,
                                          np.random.default_rng(self.seed))
        return out
''', BACKWARD)}, {"test_dropout_layer"}),
    "the layer ignores evaluation mode": ({"dropout_layer": layer(INIT, '''        out, self.cache = dropout_forward(x, self.p, True, self.rng)
        return out
''', BACKWARD)}, {"test_dropout_layer"}),
    "the layer draws its mask once and reuses it": ({"dropout_layer": layer(INIT + '''        self.mask = None
''', '''        if not self.training:
            self.cache = None
            return x
        if self.mask is None:
            _, self.mask = dropout_forward(x, self.p, True, self.rng)
        self.cache = self.mask
        return x * self.mask
''', BACKWARD)}, {"test_dropout_layer"}),
    # The backward draws a new mask instead of using the forward's.
    "the layer's backward draws a new mask": ({"dropout_layer": layer(INIT, FORWARD, '''        _, mask = dropout_forward(dout, self.p, self.training, self.rng)
        return dropout_backward(dout, mask)
''')}, {"test_dropout_layer"}),
    # Tampering: the library's functions and layer in place of one's own.
    "uses course_lib's dropout": ({
        "dropout_forward": '''
from course_lib import layers

def dropout_forward(x, p, train, rng):
    return layers.dropout_forward(x, p, train, rng)
''',
        "dropout_backward": '''
dropout_backward = layers.dropout_backward
''',
        "dropout_layer": '''
class Dropout(nn.Dropout):
    """Dropout."""
'''}, {"test_forward_train", "test_forward_eval", "test_backward", "test_dropout_layer"}),
}

CORRECT = {
    # The numbers drawn flat and reshaped (the same stream), np.where, copies everywhere.
    "flat draw, np.where, copies": {
        "dropout_forward": forward('''
    numbers = rng.random(x.size).reshape(x.shape)
    mask = np.where(numbers >= p, 1.0 / (1.0 - p), 0.0)
    return mask * x, mask
''', eval_branch="        return x.copy(), None\n"),
        "dropout_backward": '''
def dropout_backward(dout, cache):
    return dout.copy() if cache is None else np.multiply(dout, cache)
''',
        "dropout_layer": layer('''        self.p = float(p)
        self.generator = np.random.default_rng(seed)
        self._caches = []
''', '''        out, cache = dropout_forward(np.asarray(x, dtype=float), self.p, self.training,
                                     self.generator)
        self._caches.append(cache)
        return out
''', '''        return dropout_backward(dout, self._caches[-1])
'''),
    },
    "loops over the entries": {
        "dropout_forward": forward('''
    numbers = rng.random(x.shape)
    out, mask = np.zeros(x.shape), np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        if numbers[index] >= p:
            mask[index] = 1 / (1 - p)
            out[index] = x[index] / (1 - p)
    return out, mask
'''),
        "dropout_backward": '''
def dropout_backward(dout, cache):
    if cache is None:
        return dout
    dx = np.empty(dout.shape)
    for index in np.ndindex(*dout.shape):
        dx[index] = dout[index] * cache[index]
    return dx
''',
    },
    # A boolean keep mask, the scale applied separately; the layer keeps its own mask.
    "boolean mask, scale apart": {
        "dropout_forward": '''
def dropout_forward(x, p, train, rng):
    if train:
        keep = ~(rng.random(x.shape) < p)
        scale = 1.0 / (1.0 - p)
        out = np.where(keep, x, 0.0) * scale
        return out, keep * scale
    return x, None
''',
        "dropout_layer": layer(INIT, '''        out, self.mask = dropout_forward(x, self.p, self.training, self.rng)
        return out
''', '''        return dout if self.mask is None else dout * self.mask
'''),
    },
}
