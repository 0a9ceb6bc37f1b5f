"""What every kernel builds on: the numba decorator and its cache (:mod:`.jit`), and
parameters as kernel constants (:mod:`.constants`). Below the mechanisms and the core;
imports nothing from them."""
