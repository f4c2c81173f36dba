"""The command line's language, and the completeness of its Chinese message catalog."""

# The Chinese messages use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

import cocvm.cli
from cocvm.cli import i18n
from cocvm.cli.main import cli
from conftest import run_cocvm

CLI_FOLDER = Path(cocvm.cli.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def language_environment(**values: str) -> dict[str, str]:
    """Return an environment that sets only the given language variables, the others empty."""
    environment = dict.fromkeys(i18n.LANGUAGE_VARIABLES, "")
    environment.update(values)
    return environment


CHINESE = language_environment(LANG="zh_CN.UTF-8")
ENGLISH = language_environment(LANG="en_US.UTF-8")


def help_output(*arguments: str, env: dict[str, str]) -> str:
    result = run_cocvm(*arguments, "--help", env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_cli_help_chinese() -> None:
    output = help_output(env=CHINESE)

    assert "cocvm：兼容京东云的云主机镜像目录服务。" in output
    assert "管理镜像目录。" in output
    assert "管理镜像目录数据库结构。" in output
    assert "用法：" in output
    assert "显示此帮助信息并退出。" in output
    assert "Usage:" not in output


def test_cli_import_help_chinese() -> None:
    output = help_output("images", "import", env=CHINESE)

    assert "从 JSON 数组或 JSON Lines 文件 FILE 导入镜像记录" in output
    assert "数据库 URL：sqlite:///文件路径" in output


def test_cli_help_english() -> None:
    output = help_output(env=ENGLISH)

    assert "cocvm: a JD Cloud-compatible VM image catalog service." in output
    assert "Manage the image catalog." in output
    assert CJK.search(output) is None


def test_cli_import_help_english() -> None:
    output = help_output("images", "import", env=ENGLISH)

    assert "Import image records from a JSON array or JSON Lines FILE" in output
    assert CJK.search(output) is None


def test_cli_lc_all_overrides_lang() -> None:
    output = help_output(env=language_environment(LC_ALL="en_US.UTF-8", LANG="zh_CN.UTF-8"))

    assert CJK.search(output) is None


def test_cli_import_error_chinese(tmp_path: Path) -> None:
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text('{"imageId": "img-1"}\n')
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"

    result = run_cocvm("images", "import", str(bad_file), "--database", database_url, env=CHINESE)

    assert result.returncode == 1
    assert result.stderr.decode() == (
        "错误：导入失败，未做任何更改：第 1 条记录（第 1 行），字段 'regionId'："
        "Object missing required field `regionId`\n"
    )


def test_cli_import_error_english(tmp_path: Path) -> None:
    bad_file = tmp_path / "bad.json"
    bad_file.write_text('[{"imageId": "img-1"}]')
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"

    result = run_cocvm("images", "import", str(bad_file), "--database", database_url, env=ENGLISH)

    assert result.returncode == 1
    assert result.stderr.decode() == (
        "Error: Import failed, nothing was changed: record 1, field 'regionId': "
        "Object missing required field `regionId`\n"
    )


def test_cli_json_error_line_chinese(tmp_path: Path) -> None:
    bad_file = tmp_path / "bad.json"
    bad_file.write_text("[\n\n{]")
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"

    result = run_cocvm("images", "import", str(bad_file), "--database", database_url, env=CHINESE)

    assert result.returncode == 1
    assert result.stderr.decode().startswith(
        "错误：导入失败，未做任何更改：第 3 行：not valid JSON: JSON is malformed"
    )


@pytest.mark.parametrize(
    ("environment", "chinese"),
    [
        ({"LANG": "zh_CN.UTF-8"}, True),
        ({"LANG": "zh_TW.UTF-8"}, True),
        ({"LANG": "zh"}, True),
        ({"LANG": "ZH_cn.utf8"}, True),
        ({"LANG": "en_US.UTF-8"}, False),
        ({"LANG": "C.UTF-8"}, False),
        ({"LANG": "POSIX"}, False),
        ({}, False),
        ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, True),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, False),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, True),
        ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, True),
        ({"LANGUAGE": "zh_CN:en_US", "LANG": "en_US.UTF-8"}, True),
        ({"LANGUAGE": "en_US:zh_CN", "LANG": "zh_CN.UTF-8"}, False),
    ],
)
def test_locale_is_chinese(environment: dict[str, str], chinese: bool) -> None:
    assert i18n.locale_is_chinese(environment) is chinese


def test_translate_known_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CHINESE", True)

    assert i18n._("Manage the image catalog.") == "管理镜像目录。"


def test_translate_unknown_message_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CHINESE", True)

    assert i18n._("no such message") == "no such message"


def test_translate_english_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CHINESE", False)

    assert i18n._("Manage the image catalog.") == "Manage the image catalog."


def walk_commands(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            yield from walk_commands(subcommand)


def help_texts() -> list[tuple[str, str]]:
    """Return (where, text) for the help of every command and option of `cocvm`."""
    texts = []
    for command in walk_commands(cli):
        if command.help:
            texts.append((f"command {command.name}", command.help))
        for parameter in command.params:
            if not isinstance(parameter, click.Option) or not parameter.help:
                continue
            # --version comes with click and carries click's own untranslated help.
            if parameter.name != "version":
                texts.append((f"{command.name} {parameter.opts[0]}", parameter.help))
    return texts


def test_help_texts_translated() -> None:
    # Help texts were looked up when the modules were imported, in this process's language.
    known = set(i18n.ZH_CN.values()) if i18n.CHINESE else set(i18n.ZH_CN)

    missing = [where for where, text in help_texts() if text not in known]

    assert missing == []


def test_help_texts_cover_commands() -> None:
    places = {where for where, _ in help_texts()}

    assert "command import" in places
    assert "import --database" in places
    assert "export --format" in places
    assert "command upgrade" in places


def translated_messages() -> dict[str, str]:
    """Return every literal message passed to `_()` in the CLI modules, with its module."""
    messages = {}
    for path in sorted(CLI_FOLDER.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_translation = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
            )
            if not is_translation:
                continue
            assert isinstance(node, ast.Call)
            argument = node.args[0]
            assert isinstance(argument, ast.Constant), f"{path.name}:{node.lineno} is not a literal"
            messages[argument.value] = path.name
    return messages


def test_messages_have_translation() -> None:
    missing = [
        f"{module}: {message}"
        for message, module in translated_messages().items()
        if message not in i18n.ZH_CN
    ]

    assert missing == []


def test_translations_are_used() -> None:
    used = translated_messages()

    unused = [message for message in i18n.ZH_CN if message not in used]

    assert unused == []


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_translations_keep_placeholders() -> None:
    changed = [
        message
        for message, translation in i18n.ZH_CN.items()
        if placeholders(message) != placeholders(translation)
    ]

    assert changed == []


# Terms that Chinese text keeps in English, as JD Cloud's Chinese console does.
SAME_IN_CHINESE = {"Pin"}


def test_translations_are_chinese() -> None:
    untranslated = [
        message
        for message, translation in i18n.ZH_CN.items()
        if translation == message and message not in SAME_IN_CHINESE
    ]

    assert untranslated == []
