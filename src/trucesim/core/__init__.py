"""The core: the model, its state containers, the world, the timeline, the daily metrics
and the Mesa agent views. The core imports no I/O, CLI, plots or runner."""
