"""App: what a user runs, on top of the other stages. `cli` is the `scoqa` command (index,
search, ask, serve, documents, eval); `serve` is the local chat and its APIs (`/ask`,
`/add_documents`, `/documents`, `/remove_document`) and the source viewer's route; `workspace`
is the served index (the Assistant loaded in the background, the folder watcher, the log of
changes); `views` writes the HTML of the status line, the documents panel and the viewer."""
