"""Messages of the command line in the user's language: Simplified Chinese for zh, else English.

The language comes from the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is set and not
empty, the order in which Python's gettext reads them. English text is the message id, and `_()`
returns the Chinese translation when the language is Chinese and one exists.

Click's own words (`Usage:`, `Options`, `[default: ...]`, `Error: ...`) go through the standard
`gettext` function, which finds no catalog for them. `install_click_translations` points Click's
modules at the Chinese words below instead; it is called when this module loads, before any command
is declared.
"""

# The Chinese messages use full-width punctuation on purpose.
# ruff: noqa: RUF001, E501
# (E501: ruff counts each Chinese character as two columns, so translations run past the limit.)

from __future__ import annotations

import os
from collections.abc import Mapping

LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def locale_is_chinese(environment: Mapping[str, str]) -> bool:
    """Return whether the language the environment selects is Chinese."""
    for variable in LANGUAGE_VARIABLES:
        value = environment.get(variable)
        if value:
            # LANGUAGE may list several languages (zh_CN:en_US), of which the first is preferred.
            return value.split(":")[0].lower().startswith("zh")
    return False


CHINESE = locale_is_chinese(os.environ)

ZH_CN: dict[str, str] = {
    "Show the version and exit.": "显示版本号并退出。",
    # cocvm
    "cocvm: a JD Cloud-compatible VM image catalog service.": "cocvm：兼容京东云的云主机镜像目录服务。",
    "Database URL: sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DBNAME.": "数据库 URL：sqlite:///文件路径 或 postgresql://用户:密码@主机/库名。",
    "File with the key that encrypts access key secrets at rest; created on first use. "
    "Default: ~/.config/cocvm/server.key. COCVM_SERVER_KEY, if set, supplies the key itself.": "存放服务器密钥的文件，该密钥用于加密存储访问密钥的 Secret Key；首次使用时创建。"
    "默认：~/.config/cocvm/server.key。若设置了 COCVM_SERVER_KEY，则直接以其值作为密钥。",
    # serve
    "Run the describeImages API server.": "运行 describeImages API 服务。",
    "Address to listen on.": "监听地址。",
    "TCP port to listen on.": "监听的 TCP 端口。",
    "API profile: coc-vm (the COC VM API) or vm (JD Cloud's main VM API, a superset).": "API 模式：coc-vm（COC 云主机 API）或 vm（京东云云主机 vm 主接口，coc-vm 的超集）。",
    "Regions to serve, comma-separated.": "提供服务的地域，以逗号分隔。",
    "Number of worker processes.": "工作进程数。",
    "Log level: DEBUG, INFO, WARNING or ERROR.": "日志级别：DEBUG、INFO、WARNING 或 ERROR。",
    "Invalid region list: {value!r}. Give region ids separated by commas, "
    "e.g. cn-north-1,cn-east-2.": "地域列表无效：{value!r}。请用逗号分隔地域 ID，例如 cn-north-1,cn-east-2。",
    "How callers are checked: strict (valid signatures by enabled keys), emulator (any "
    "well-formed signature; the pin is the key's pin, else the access key id) or off (no check, "
    "anonymous callers; for benchmarks only).": "调用方的校验方式：strict（由已启用的密钥生成的有效签名）、"
    "emulator（任何格式正确的签名；pin 为该密钥的 pin，否则为 Access Key ID）"
    "或 off（不校验，调用方为匿名；仅用于性能测试）。",
    "Largest accepted difference between x-jdcloud-date and the server's clock, in seconds.": "x-jdcloud-date 与服务器时钟之间允许的最大差值，单位为秒。",
    "Redis URL (redis://HOST:PORT/DB) for rate limit counters and seen nonces shared by several "
    "servers. Default: kept in this process.": "Redis URL（redis://主机:端口/库号），用于在多台服务器间共享限流计数和已用过的 nonce。"
    "默认：保存在本进程内。",
    "Requests per second one access key may send; 0 turns this limit off.": "每个访问密钥每秒可发送的请求数；0 表示不限制。",
    "Requests per minute one access key may send; 0 turns this limit off.": "每个访问密钥每分钟可发送的请求数；0 表示不限制。",
    "PostgreSQL connections each worker keeps open (plus up to 5 more under load).": "每个工作进程保持打开的 PostgreSQL 连接数（高负载时最多再增加 5 个）。",
    "Seconds a request waits for a PostgreSQL connection before failing with 500 UNKNOWN.": "请求等待 PostgreSQL 连接的秒数，超时则以 500 UNKNOWN 失败。",
    "Seconds one PostgreSQL query may run before the request fails with 500 UNKNOWN.": "单个 PostgreSQL 查询可运行的秒数，超时则请求以 500 UNKNOWN 失败。",
    # images
    "Manage the image catalog.": "管理镜像目录。",
    "Import image records from a JSON array or JSON Lines FILE ('-' reads standard input). "
    "Records replace stored images with the same imageId. The import is one transaction: "
    "if any record is invalid, nothing is changed.": "从 JSON 数组或 JSON Lines 文件 FILE 导入镜像记录（FILE 为 '-' 时读取标准输入）。"
    "记录会替换 imageId 相同的已有镜像。导入在一个事务中完成：任一记录无效时不做任何更改。",
    "Export every image record as JSON Lines (or a JSON array with --format json).": "以 JSON Lines 格式（或使用 --format json 输出 JSON 数组）导出全部镜像记录。",
    "Output file; '-' or absent writes to standard output.": "输出文件；'-' 或不指定时写到标准输出。",
    "Output format: jsonl (JSON Lines) or json (one JSON array).": "输出格式：jsonl（JSON Lines）或 json（一个 JSON 数组）。",
    "Export only this region.": "只导出该地域。",
    "Import failed, nothing was changed: {error}": "导入失败，未做任何更改：{error}",
    "Export failed: {error}": "导出失败：{error}",
    "Cannot read {path}: {error}": "无法读取 {path}：{error}",
    "Cannot write {path}: {error}": "无法写入 {path}：{error}",
    "record {record}": "第 {record} 条记录",
    "record {record} (line {line})": "第 {record} 条记录（第 {line} 行）",
    "line {line}": "第 {line} 行",
    "field '{field}'": "字段 '{field}'",
    "{location}, {field}": "{location}，{field}",
    "{location}: {reason}": "{location}：{reason}",
    "Writing": "写入中",
    "Imported {count} images into {url}.": "已导入 {count} 个镜像到 {url}。",
    "Imported 1 image into {url}.": "已导入 1 个镜像到 {url}。",
    "Exported {count} images.": "已导出 {count} 个镜像。",
    # keys
    "Manage access keys: create, list, disable, enable, delete.": "管理访问密钥：创建、列出、禁用、启用、删除。",
    "Create an access key for PIN and print its secret (shown only this once).": "为 PIN 创建访问密钥并输出其 Secret Key（仅显示这一次）。",
    "The user pin that owns the key and its private images.": "拥有该密钥及其私有镜像的用户 pin。",
    "Print the key pair as one JSON object.": "以一个 JSON 对象输出密钥对。",
    "The pin must not be empty.": "pin 不能为空。",
    "Access key: {value}": "Access Key：{value}",
    "Secret key: {value}": "Secret Key：{value}",
    "The secret is encrypted with {source}; the server must use the same server key.": "Secret Key 已用 {source} 加密；服务端必须使用同一个服务器密钥。",
    "Pin:        {value}": "Pin：       {value}",
    "Store the secret key now: it cannot be shown again.": "请立即保存 Secret Key：之后无法再次显示。",
    "List access keys (never their secrets).": "列出访问密钥（不显示 Secret Key）。",
    "Show only this pin's keys.": "只显示该 pin 的密钥。",
    "Print JSON Lines instead of a table.": "输出 JSON Lines 而不是表格。",
    "Access key": "Access Key",
    "Pin": "Pin",
    "Status": "状态",
    "Created (UTC)": "创建时间（UTC）",
    "enabled": "已启用",
    "disabled": "已禁用",
    "Disable an access key; requests signed with it fail from the next one on.": "禁用访问密钥；此后用它签名的请求都会失败。",
    "Enable a disabled access key again.": "重新启用已禁用的访问密钥。",
    "Delete an access key for good.": "永久删除访问密钥。",
    "Disabled {access_key}.": "已禁用 {access_key}。",
    "Enabled {access_key}.": "已启用 {access_key}。",
    "Deleted {access_key}.": "已删除 {access_key}。",
    "Access key {access_key} not found; `cocvm keys list` shows the keys.": "未找到访问密钥 {access_key}；`cocvm keys list` 可列出全部密钥。",
    # db
    "Manage the catalog database schema.": "管理镜像目录数据库结构。",
    "Create the schema or apply the migrations the database lacks.": "创建数据库结构，或执行数据库缺少的迁移。",
    "Database schema is at revision {revision}.": "数据库结构已是版本 {revision}。",
    "Cannot upgrade the database schema: {error}": "无法升级数据库结构：{error}",
}


# Click 8's messages (module-level `_` in click.core, formatting, exceptions, decorators, types).
CLICK_ZH_CN: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示此帮助信息并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有名为 {name!r} 的命令。",
    "No such option {name!r}.": "没有名为 {name!r} 的选项。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "default: {default}": "默认值：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "Aborted!": "已中止！",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的 {number_type}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是一个目录。",
    "Choose from:\n\t{choices}": "可选值：\n\t{choices}",
}


def _click_gettext(message: str) -> str:
    return CLICK_ZH_CN.get(message, message)


def install_click_translations() -> None:
    """Make Click print its own words in Chinese when the user's language is Chinese."""
    if not CHINESE:
        return
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.types

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.types):
        # Click binds `from gettext import gettext as _` in each module; see the module docstring.
        module.__dict__["_"] = _click_gettext


def _(message: str) -> str:
    """Return `message` in the user's language."""
    if CHINESE:
        return ZH_CN.get(message, message)
    return message


install_click_translations()
