"""A small source tree with every import form, and the exact graph it must give.

Written by hand (``write_tree``) so that the expected edges are checked line by line
against the files, not computed by the code under test.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

FILES: dict[str, str] = {
    # a top-level module beside the package (src layout)
    "src/manage.py": "import shop\n",
    "src/shop/__init__.py": (
        '"""The shop."""\n'
        "from shop.core import models  # a submodule through the package\n"
        "from . import util\n"
    ),
    "src/shop/util.py": (
        '"""Helpers.\n\nTwo docstring lines, a comment and blanks are not code.\n"""\n'
        "\n"
        "# a comment\n"
        "import os\n"
        "import json as j\n"
        "from typing import TYPE_CHECKING\n"
        "\n"
        "if TYPE_CHECKING:\n"
        "    from shop.core.models import Order\n"
        "\n"
        "\n"
        "def helper() -> str:\n"
        '    """Not code either."""\n'
        "    return os.sep + j.dumps(1)\n"
    ),
    "src/shop/core/__init__.py": "from .models import Order\nVERSION = 1\n",
    "src/shop/core/models.py": (
        "from ..util import helper  # a name, not a module: the module util\n"
        "\n"
        "class Order:\n"
        "    pass\n"
        "\n"
        "def checkout():\n"
        "    from shop import api  # function level: lazy\n"
        "    return api\n"
    ),
    "src/shop/core/prices.py": (
        "import typing\n"
        "from shop.core import VERSION  # a name in the package: its __init__\n"
        "from shop.core import models\n"
        "from . import models as again\n"
        "import shop.core.models\n"
        "\n"
        "if typing.TYPE_CHECKING:\n"
        "    from shop.util import helper\n"
        "\n"
        "def price():\n"
        "    from shop.util import helper  # runtime too: the edge is neither tc nor lazy\n"
        "    return helper\n"
    ),
    "src/shop/api.py": (
        "import shop.core.prices\n"
        "from shop import util\n"
        "from .core import *\n"
        "import requests\n"
        "try:\n"
        "    import ujson\n"
        "except ImportError:\n"
        "    ujson = None\n"
        "\n"
        "def again():\n"
        "    import shop.util\n"
    ),
    "src/shop/broken.py": "def oops(:\n    pass\n",
    "src/shop/uses_broken.py": (
        "from shop import broken  # a file that did not parse: no edge\n"
        "from shop.missing import thing  # no such module: its nearest package\n"
        "from ... import beyond  # above the top: Python refuses it, so do we\n"
    ),
    # a namespace package (no __init__.py) with an import cycle
    "src/shop/plugins/loader.py": (
        "from shop.plugins import extra\n"
        "\n"
        "class Loader:\n"
        "    import shop.api  # class body: runs at import\n"
    ),
    "src/shop/plugins/extra.py": "from .loader import Loader\n",
    # never modules: outside src/, a cache, an unimportable directory name
    "tests/test_shop.py": "import shop\n",
    "src/shop/__pycache__/util.py": "import shop\n",
    "src/shop/my-scripts/run.py": "import shop\n",
}

MODULES = {
    "manage": ("src/manage.py", ""),
    "shop": ("src/shop/__init__.py", "shop"),
    "shop.util": ("src/shop/util.py", "shop"),
    "shop.core": ("src/shop/core/__init__.py", "shop.core"),
    "shop.core.models": ("src/shop/core/models.py", "shop.core"),
    "shop.core.prices": ("src/shop/core/prices.py", "shop.core"),
    "shop.api": ("src/shop/api.py", "shop"),
    "shop.uses_broken": ("src/shop/uses_broken.py", "shop"),
    "shop.plugins.loader": ("src/shop/plugins/loader.py", "shop.plugins"),
    "shop.plugins.extra": ("src/shop/plugins/extra.py", "shop.plugins"),
}

# (source, target, type_checking, lazy)
EDGES = {
    ("manage", "shop", False, False),
    ("shop", "shop.core.models", False, False),
    ("shop", "shop.util", False, False),
    ("shop.util", "shop.core.models", True, False),
    ("shop.core", "shop.core.models", False, False),
    ("shop.core.models", "shop.util", False, False),
    ("shop.core.models", "shop.api", False, True),
    ("shop.core.prices", "shop.core", False, False),
    ("shop.core.prices", "shop.core.models", False, False),
    ("shop.core.prices", "shop.util", False, False),
    ("shop.api", "shop.core.prices", False, False),
    ("shop.api", "shop.util", False, False),
    ("shop.api", "shop.core", False, False),
    ("shop.uses_broken", "shop", False, False),
    ("shop.plugins.loader", "shop.plugins.extra", False, False),
    ("shop.plugins.loader", "shop.api", False, False),
    ("shop.plugins.extra", "shop.plugins.loader", False, False),
}

# Runtime cycles. shop.util → shop.core.models is only for type checking, so shop.util
# is in none although shop.core.models imports it.
CYCLES = [
    ["shop.api", "shop.core", "shop.core.models", "shop.core.prices"],
    ["shop.plugins.extra", "shop.plugins.loader"],
]

EXTERNALS = {"json": 1, "os": 1, "requests": 1, "typing": 2, "ujson": 1}

# lines of code of shop/util.py: the 5 import/if lines, the def and the return
UTIL_LOC = 7


def write_tree(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tarball(files: dict[str, str] | None = None, *, top: str = "acme-app-6dcb09b") -> bytes:
    """The tree as GitHub serves it: gzipped, everything under one top directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in (files or FILES).items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
