"""The console's request handlers, one module per page: read, build the view model, render."""
