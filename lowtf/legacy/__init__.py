"""Old TensorFlow 1.x scripts, run unedited: ``lowtf run SCRIPT [ARGS]``.

    runner    the script's process: legacy Keras, TensorFlow loaded quietly, v2 behaviour off
    imports   ``import tensorflow`` as the script knew it; the tutorials' MNIST package
    contrib   ``tf.contrib``: successors from tf_upgrade_v2's own tables, or a message naming them
    noise     TensorFlow's start-up and deprecation lines hidden and counted
"""
