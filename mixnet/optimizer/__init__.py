"""``mx.optimizer``: the optimizers of MXNet 1.9.1, their registry (``create``,
``register``) and the ``Updater`` that holds their states.

``optimizer`` holds the base class, registry and Updater; ``sgd``, ``adam`` and
``adaptive`` hold the optimizers, grouped by family. Every optimizer is registered under
its lower-case class name: ``mx.optimizer.create('adam', learning_rate=0.01)``.
"""
from . import optimizer  # noqa: F401 -- mx.optimizer.optimizer, as in MXNet
from .optimizer import (Optimizer, OptimizerArgumentError, OptimizerNameError, Test, Updater,
                        create, get_updater, register)
from .sgd import DCASGD, LARS, NAG, SGD, SGLD, Signum, ccSGD
from .adam import FTML, LAMB, Adam, Adamax, Nadam
from .adaptive import AdaDelta, AdaGrad, Ftrl, RMSProp

__all__ = ["Optimizer", "Updater", "create", "register", "get_updater",
           "SGD", "ccSGD", "NAG", "LARS", "Signum", "DCASGD", "SGLD",
           "Adam", "Adamax", "Nadam", "FTML", "LAMB",
           "AdaGrad", "AdaDelta", "RMSProp", "Ftrl", "Test",
           "OptimizerNameError", "OptimizerArgumentError"]
