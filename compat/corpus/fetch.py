"""Fetch the corpus's source archives from the package registries and unpack them.

    .venv/bin/python compat/corpus/fetch.py            # everything sources.yaml names
    .venv/bin/python compat/corpus/fetch.py --print-hashes

Each archive in ``sources.yaml`` is downloaded with the registry's ordinary client
(``pip download`` for PyPI sdists, ``apt-get source --download-only`` for Debian
source packages), checked against the sha256 pinned there, and unpacked into
``.corpus-work/sources/<key>/``. A second call finds the archive in
``.corpus-work/archives/`` and only re-checks its hash. Nobody else's example code is
kept in this repository: the manifests name a path inside an archive and that file's
own sha256, which run_corpus.py checks before running it.

Kind ``git``: galleries no registry package ships (LightGBM's, Keras's, PyTorch's and
Lightning's examples). Their files are never committed here (nobody else's code is
kept in this repository, whatever its license); ``vendor/<project>/`` is a local,
git-ignored folder filled from a clone of the source's repository at its pinned ref::

    .venv/bin/python compat/corpus/fetch.py --git-dir lightgbm-4_6_0=/path/to/LightGBM

A machine without them (CI: no network but the package registries) reports their
scripts as not available; run_corpus.py runs the others.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(REPO, ".corpus-work")
ARCHIVES = os.path.join(WORK, "archives")
SOURCES = os.path.join(WORK, "sources")

#: A stand-in PEP 517 backend that only answers ``prepare_metadata_for_build_wheel``,
#: from the sdist's own PKG-INFO. pip asks for metadata before it saves an sdist; a
#: backend without that hook (meson-python) makes pip compile the whole package first.
_METADATA_BACKEND = '''\
"""Metadata from PKG-INFO, for `pip download` of an sdist only (compat/corpus/fetch.py)."""
import email.parser
import os


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with open("PKG-INFO", encoding="utf-8") as handle:
        text = handle.read()
    message = email.parser.Parser().parsestr(text, headersonly=True)
    name = message["Name"].replace("-", "_").replace(".", "_")
    folder = f"{name}-{message['Version']}.dist-info"
    os.makedirs(os.path.join(metadata_directory, folder))
    with open(os.path.join(metadata_directory, folder, "METADATA"), "w",
              encoding="utf-8") as handle:
        handle.write(text)
    return folder


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("this stand-in backend only prepares metadata for pip download")
'''


def load_sources() -> dict[str, dict]:
    import yaml

    with open(os.path.join(HERE, "sources.yaml")) as handle:
        return yaml.safe_load(handle)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SourceUnavailable(Exception):
    """A ``git`` source whose files are not on this machine (and cannot be downloaded)."""


def fetch_all(keys: list[str] | None = None, print_hashes: bool = False,
              missing: dict[str, str] | None = None) -> dict[str, str]:
    """Every source (or those named) fetched, checked and unpacked: key -> its folder.

    ``missing``: unavailable ``git`` sources go there (key -> why) instead of raising.
    """
    folders = {}
    for key, source in load_sources().items():
        if keys and key not in keys:
            continue
        try:
            folders[key] = fetch(key, source, print_hashes)
        except SourceUnavailable as exc:
            if missing is None:
                raise
            missing[key] = str(exc)
    return folders


def fetch(key: str, source: dict, print_hashes: bool = False) -> str:
    if source["kind"] == "git":
        return _git_folder(key, source)
    os.makedirs(ARCHIVES, exist_ok=True)
    archive = os.path.join(ARCHIVES, source["file"])
    if not os.path.exists(archive):
        print(f"fetching {key} ({source['kind']} {source['name']} {source['version']})",
              flush=True)
        downloaders = {"pypi-sdist": _pip_download, "debian-source": _apt_source}
        downloaders[source["kind"]](source, archive)
    actual = sha256_of(archive)
    if print_hashes:
        print(f"{key}: {source['file']} sha256 = {actual}")
    elif actual != source["sha256"]:
        raise SystemExit(f"{archive}: sha256 {actual}, sources.yaml pins {source['sha256']}")
    target = os.path.join(SOURCES, key)
    stamp = os.path.join(target, ".unpacked-" + actual)
    if not os.path.exists(stamp):
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(target, filter="data")
            except TypeError:  # Python < 3.10.12 has no extraction filters
                tar.extractall(target)  # noqa: S202 (a registry archive, hash checked)
        open(stamp, "w").close()
    return _single_top_folder(target)


def _git_folder(key: str, source: dict) -> str:
    """The local folder of a ``git`` source, filled by `fill_from_git` (with its license)."""
    folder = os.path.join(HERE, source["folder"])
    if not os.path.isfile(os.path.join(folder, source.get("license_file", "LICENSE"))):
        raise SourceUnavailable(
            f"{key}: not on this machine (fill it: compat/corpus/fetch.py --git-dir "
            f"{key}=<a clone of {source['repo']} holding {source['ref']}>)")
    return folder


def fill_from_git(key: str, source: dict, git_dir: str) -> str:
    """Extract the source's ``paths`` (and license) at its ref from a local git repository."""
    if os.path.isdir(os.path.join(git_dir, ".git")):
        git_dir = os.path.join(git_dir, ".git")
    paths = [source.get("license_file", "LICENSE"), *source["paths"]]
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "--format=tar",
                              source["ref"], *paths], check=True, capture_output=True).stdout
    folder = os.path.join(HERE, source["folder"])
    os.makedirs(folder, exist_ok=True)
    import io

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        try:
            tar.extractall(folder, filter="data")
        except TypeError:  # Python < 3.10.12 has no extraction filters
            tar.extractall(folder)  # noqa: S202 (the pinned ref of a named repository)
    return folder


def _single_top_folder(target: str) -> str:
    entries = [e for e in os.listdir(target) if not e.startswith(".unpacked-")]
    if len(entries) == 1 and os.path.isdir(os.path.join(target, entries[0])):
        return os.path.join(target, entries[0])
    return target


def _pip_download(source: dict, archive: str) -> None:
    with tempfile.TemporaryDirectory(prefix="corpus-fetch-") as tmp:
        requirement = os.path.join(tmp, "requirements.txt")
        with open(requirement, "w") as handle:
            pin = source["sha256"]
            handle.write(f"{source['name']}=={source['version']}"
                         + (f" --hash=sha256:{pin}\n" if pin != "PENDING" else "\n"))
        env = dict(os.environ)
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                   "--no-binary", source["name"], "-d", tmp, "-r", requirement]
        if source["sha256"] != "PENDING":
            command.append("--require-hashes")
        backend = source.get("metadata_backend")
        if backend:
            stub = os.path.join(tmp, "backend")
            os.makedirs(stub)
            with open(os.path.join(stub, backend + ".py"), "w") as handle:
                handle.write(_METADATA_BACKEND)
            env["PYTHONPATH"] = stub + os.pathsep + env.get("PYTHONPATH", "")
            command.append("--no-build-isolation")
        subprocess.run(command, check=True, env=env, timeout=600)
        shutil.move(os.path.join(tmp, source["file"]), archive)


def _apt_source(source: dict, archive: str) -> None:
    """A private apt configuration (deb-src for one suite) leaves the system's alone."""
    with tempfile.TemporaryDirectory(prefix="corpus-apt-") as tmp:
        lists = os.path.join(tmp, "lists")
        cache = os.path.join(tmp, "cache")
        os.makedirs(os.path.join(lists, "partial"))
        os.makedirs(os.path.join(cache, "archives", "partial"))
        sources_list = os.path.join(tmp, "sources.list")
        mirror = source.get("mirror", _debian_mirror())
        with open(sources_list, "w") as handle:
            handle.write("deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                         f"{mirror} {source['suite']} main\n")
        options = ["-o", f"Dir::Etc::SourceList={sources_list}",
                   "-o", f"Dir::Etc::SourceParts={os.path.join(tmp, 'none')}",
                   "-o", f"Dir::State::Lists={lists}", "-o", f"Dir::Cache={cache}",
                   "-o", "APT::Sandbox::User=root"]
        subprocess.run(["apt-get", *options, "-q", "update"], check=True, timeout=600,
                       stdout=subprocess.DEVNULL)
        download = os.path.join(tmp, "download")
        os.makedirs(download)
        subprocess.run(["apt-get", *options, "-q", "source", "--download-only",
                        f"{source['name']}={source['version']}"], check=True, cwd=download,
                       timeout=600, stdout=subprocess.DEVNULL)
        shutil.move(os.path.join(download, source["file"]), archive)


def _debian_mirror() -> str:
    """The mirror this machine's own apt sources use (deb822 or one-line format)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            for line in handle:
                words = line.split()
                if words[:1] == ["URIs:"] and len(words) > 1:
                    return words[1]
                if words[:1] == ["deb"]:
                    uris = [w for w in words[1:] if "://" in w]
                    if uris:
                        return uris[0]
    raise SystemExit("no Debian mirror found in this machine's apt sources")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keys", nargs="*", help="only these sources (default: all)")
    parser.add_argument("--print-hashes", action="store_true",
                        help="print each archive's sha256 instead of checking it")
    parser.add_argument("--git-dir", action="append", default=[], metavar="KEY=PATH",
                        help="fill the git source KEY from a local clone at PATH")
    args = parser.parse_args()
    sources = load_sources()
    for item in args.git_dir:
        key, _, path = item.partition("=")
        if sources.get(key, {}).get("kind") != "git" or not path:
            raise SystemExit(f"--git-dir {item!r}: expected KEY=PATH with KEY a git source "
                             f"({', '.join(k for k, s in sources.items() if s['kind'] == 'git')})")
        print(f"{key}: {os.path.relpath(fill_from_git(key, sources[key], path), REPO)}")
    missing: dict[str, str] = {}
    for key, folder in fetch_all(args.keys, args.print_hashes, missing).items():
        print(f"{key}: {os.path.relpath(folder, REPO)}")
    for why in missing.values():
        print(why)


if __name__ == "__main__":
    main()
