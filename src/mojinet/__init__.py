"""mojinet (文字, "character"): handwriting recognition with a multilayer perceptron written from
first principles in NumPy, and the tools to see why it works.

>>> import mojinet
>>> model = mojinet.run(mojinet.RunConfig(epochs=1, limit=1000))   # the chapter's recipe, shortened
>>> train, test = mojinet.load_dataset("mnist", "train"), mojinet.load_dataset("mnist", "test")
>>> net = mojinet.Network([784, 16, 16, 10], init="xavier", seed=0)
>>> history = mojinet.train(net, train.X, train.y, optimizer=mojinet.SGD(3.0), epochs=1,
...                         batch_size=10, rng=np.random.default_rng(0))
"""

__version__ = "0.1.0"

from .config import ConfigError, RunConfig, read_config
from .data.augment import Augment
from .data.dataset import Dataset
from .data.idx import IDXError, read_idx, write_idx
from .data.images import ImageError, to_input
from .data.registry import load_dataset
from .engines import train
from .epochlog import EpochLog
from .io import Model, ModelFileError, load_model, save_model
from .nn.callbacks import BestCheckpoint, EarlyStopping
from .nn.network import Gradients, Network
from .nn.optim import SGD, Adam
from .nn.regularize import Dropout, MaxNorm
from .nn.train import History, TrainingDiverged, evaluate, one_hot
from .presets import PRESETS
from .runner import resume, run

__all__ = [
    "Adam", "Augment", "BestCheckpoint", "ConfigError", "Dropout", "EarlyStopping", "EpochLog",
    "MaxNorm",
    "Dataset", "Gradients", "History", "IDXError", "ImageError", "Model", "ModelFileError",
    "Network", "PRESETS", "RunConfig", "SGD", "TrainingDiverged", "evaluate", "load_dataset",
    "load_model", "one_hot", "read_config", "read_idx", "resume", "run", "save_model",
    "to_input", "train", "write_idx", "__version__",
]
