"""App: what a user runs, on top of the other stages. `cli` is the `scoqa` command (index,
search, ask, serve, eval); `serve` is the local chat and its `/ask` API."""
