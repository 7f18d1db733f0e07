"""Model registry: table against the shared manifest, path/verify, pull from a local server."""
from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from keyframe import model_table, models
from keyframe.cli import main
from keyframe.registry import CheckSkipped

SMALL = "sr-fsrcnn-small-x2"      # 9.6 kB: fast to serve


@pytest.fixture()
def server(shared_models, tmp_path):
    """An HTTP server on 127.0.0.1 (ephemeral port) serving a copy of ../shared/models, in
    which sr_fsrcnn/FSRCNN-small_x3.pb is replaced by another file (checksum mismatch)."""
    root = tmp_path / "mirror"
    shutil.copytree(shared_models / "sr_fsrcnn", root / "sr_fsrcnn")
    shutil.copy(root / "sr_fsrcnn" / "FSRCNN-small_x2.pb", root / "sr_fsrcnn" / "FSRCNN-small_x3.pb")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("KEYFRAME_MODELS", str(cache))
    return cache


def test_table_covers_every_shared_file(shared_models):
    rows = [line.split("\t") for line in (shared_models / "MANIFEST.tsv").read_text().splitlines()]
    manifest = {r[0].removeprefix("./"): (int(r[1]), r[3]) for r in rows}
    table = {s.file: (s.size, s.sha256) for s in models.MODELS.values()}
    assert table == manifest
    for name, s in models.MODELS.items():
        assert name == name.lower() and "_" not in name
        assert s.runtime in ("onnxruntime", "tflite", "tf-graphdef", "opencv-yml")
        assert s.url.startswith(("https://github.com/", model_table._MP_ASSETS))
        assert s.url.endswith(Path(s.file).name)


def test_path_and_verify_on_shared_models(shared_models):
    assert models.cache_dir() == shared_models
    assert models.path("yunet-s") == shared_models / "yunet/yunet_s_dynamic.onnx"
    assert set(models.verify()) == set(models.MODELS)
    assert models.verify(["yunet-s", SMALL]) == {"yunet-s": "ok", SMALL: "ok"}


def test_missing_model_message_names_the_pull_command(empty_cache):
    with pytest.raises(models.ModelMissing) as info:
        models.path("yunet-s")
    assert isinstance(info.value, CheckSkipped)
    assert str(info.value) == "model 'yunet-s' is not installed: run `keyframe models pull yunet-s`"
    assert models.verify(["yunet-s"]) == {"yunet-s": "missing"}


def test_corrupt_model_is_reported(shared_models, empty_cache):
    spec = models.MODELS[SMALL]
    dest = empty_cache / spec.file
    dest.parent.mkdir(parents=True)
    data = bytearray((shared_models / spec.file).read_bytes())
    data[100] ^= 0xFF                                   # same size, wrong sha256
    dest.write_bytes(bytes(data))
    with pytest.raises(models.ModelMissing, match="wrong sha256.*keyframe models pull"):
        models.path(SMALL)
    assert models.verify([SMALL]) == {SMALL: "corrupt"}


def test_session_is_created_once(shared_models):
    s = models.session("yunet-s")
    assert s is models.session("yunet-s")
    assert s.get_inputs()[0].shape[1] == 3


def test_pull_from_local_server(server, empty_cache):
    seen = []
    (dest,) = models.pull([SMALL], base_url=server, progress=lambda *a: seen.append(a))
    assert dest == empty_cache / models.MODELS[SMALL].file
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == models.MODELS[SMALL].sha256
    assert seen[-1] == (SMALL, models.MODELS[SMALL].size, models.MODELS[SMALL].size)
    assert models.path(SMALL) == dest
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]     # no temp file left


def test_pull_checksum_mismatch_installs_nothing(server, empty_cache):
    name = "sr-fsrcnn-small-x3"
    with pytest.raises(models.ModelDownloadError, match="sha256 mismatch") as info:
        models.pull([name], base_url=server)
    assert "\n" not in str(info.value)
    folder = empty_cache / "sr_fsrcnn"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_pull_404_is_one_line_error(server, empty_cache):
    with pytest.raises(models.ModelDownloadError, match="404") as info:
        models.pull(["yunet-s"], base_url=server)               # not on the mirror
    assert "\n" not in str(info.value)
    assert models.verify(["yunet-s"]) == {"yunet-s": "missing"}


def test_cli_pull_verify_list_path(server, empty_cache):
    runner = CliRunner()
    result = runner.invoke(main, ["models", "verify", SMALL])
    assert result.exit_code == 1 and "missing" in result.output
    result = runner.invoke(main, ["models", "pull", SMALL, "--base-url", server])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["models", "verify", SMALL])
    assert result.exit_code == 0 and "ok" in result.output
    result = runner.invoke(main, ["models", "pull", "sr-fsrcnn-small-x3", "--base-url", server])
    assert result.exit_code == 1 and "sha256 mismatch" in result.output
    header, *listing = runner.invoke(main, ["models", "list"]).output.splitlines()
    assert header.split() == ["name", "runtime", "size", "licence", "status"]
    assert len(listing) == len(models.MODELS)
    line = next(x for x in listing if x.startswith(SMALL + " "))
    assert "tf-graphdef" in line and line.rstrip().endswith("ok")
    result = runner.invoke(main, ["models", "path", SMALL])
    assert result.output.strip() == str(empty_cache / models.MODELS[SMALL].file)
    assert runner.invoke(main, ["models", "path"]).output.strip() == str(empty_cache)
    result = runner.invoke(main, ["models", "pull", "no-such-model"])
    assert result.exit_code == 2 and "unknown model" in result.output
    assert runner.invoke(main, ["models", "pull"]).exit_code == 2


@pytest.mark.parametrize("cmd", [[], ["list"], ["pull"], ["verify"], ["path"]])
def test_help(cmd):
    result = CliRunner().invoke(main, ["models", *cmd, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
