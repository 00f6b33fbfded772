"""Contexts: where the path's layer is called — alone (``call``), or inside a model built the way users
build one (``functional``, ``sequential``), one module each, registered in
:data:`conformance.registry.CONTEXTS`."""
