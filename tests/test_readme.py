"""The README's Python quickstart runs as written (in a child: it installs
filters)."""

import contextlib
import io
import os
import re

from conftest import REPO, in_child


def test_readme_quickstart_runs():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    code = re.search(r"## Python API quickstart\n\n```python\n(.*?)```",
                     text, re.S).group(1)

    def body():
        os.chdir(REPO)  # the example reads ../shared relative to the repo
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
        return out.getvalue()

    printed = in_child(body).value
    assert "ret ALLOW" in printed                 # the disassembly
    assert "<Event getppid(" in printed           # the ACK reports
    assert "= -9 data=7" in printed               # close(999): EBADF
    assert "'delivered': 2" in printed
