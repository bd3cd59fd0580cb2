"""What the package adds to the SDK's dynamic-provider host process: errors without tracebacks, the engine
watchdog, ``Cancel``, and the program-run marker that tells the current stack config from its stored copy."""
