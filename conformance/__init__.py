"""tf-rnn-conformance: a pytest plugin that checks TensorFlow's recurrent APIs against declarative cases.

Importing the package imports neither TensorFlow nor the plugin's hooks; see ``conformance.plugin``.
"""

__version__ = "0.1.0"
