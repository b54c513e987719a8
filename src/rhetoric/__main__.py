from rhetoric.cli import app

app(prog_name="rhetoric")
