"""Deploying the bureau's own diagrams, decision tables and forms shipped in bpmn/ and forms/."""
from __future__ import annotations

import os

from engine.compiler import SourceFile
from engine.deploy import Deployed, deploy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = (("bpmn", (".bpmn", ".dmn")), ("forms", (".json",)))


def bundled_files(root: str = ROOT) -> list[SourceFile]:
    files = []
    for folder, endings in FOLDERS:
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith(endings):
                with open(os.path.join(path, name), "rb") as fh:
                    files.append(SourceFile(name, fh.read()))
    return files


def deploy_bundled(engine, actor: str = "system:setup") -> list[Deployed]:
    files = bundled_files()
    if not files:
        return []
    with engine.unit(actor) as unit:
        return deploy(unit, files, engine.settings)
