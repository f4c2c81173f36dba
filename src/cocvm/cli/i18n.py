"""Messages of the command line in the user's language: Simplified Chinese for zh locales, else English.

The locale comes from LC_ALL, LC_MESSAGES or LANG, the first one set, as gettext reads it. English text is
the message id; `_()` returns the Chinese translation when the locale is Chinese and one exists.
"""

from __future__ import annotations

import os


def _locale_is_chinese() -> bool:
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return value.lower().startswith("zh")
    return False


CHINESE = _locale_is_chinese()

_ZH_CN: dict[str, str] = {
    # cocvm
    "cocvm: a JD Cloud-compatible VM image catalog service.":
        "cocvm：兼容京东云的云主机镜像目录服务。",
    "Database URL: sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DBNAME.":
        "数据库 URL：sqlite:///文件路径 或 postgresql://用户:密码@主机/库名。",
    # serve
    "Run the describeImages API server.": "运行 describeImages API 服务。",
    "Address to listen on.": "监听地址。",
    "TCP port to listen on.": "监听的 TCP 端口。",
    "API profile: coc-vm (the COC VM API) or vm (JD Cloud's main VM API, a superset).":
        "API 规格：coc-vm（COC 云主机 API）或 vm（京东云主云主机 API，coc-vm 的超集）。",
    "Regions to serve, comma-separated.": "提供服务的地域，以逗号分隔。",
    "Number of worker processes.": "工作进程数。",
    "Log level: DEBUG, INFO, WARNING or ERROR.": "日志级别：DEBUG、INFO、WARNING 或 ERROR。",
    "Catalog database: {url}": "镜像目录数据库：{url}",
    "The catalog is empty: loading the default catalog ({count} images).":
        "镜像目录为空：正在加载默认镜像目录（{count} 个镜像）。",
    "Serving describeImages ({profile} profile) on http://{host}:{port} for regions {regions}":
        "describeImages 服务已启动（{profile} 规格），地址 http://{host}:{port}，地域 {regions}",
    "Invalid region list: {value!r}. Give region ids separated by commas, e.g. cn-north-1,cn-east-2.":
        "地域列表无效：{value!r}。请用逗号分隔地域 ID，例如 cn-north-1,cn-east-2。",
    # images
    "Manage the image catalog.": "管理镜像目录。",
    "Import image records from a JSON array or JSON Lines FILE ('-' reads standard input).":
        "从 JSON 数组或 JSON Lines 文件导入镜像记录（FILE 为 '-' 时读取标准输入）。",
    "Export every image record as JSON Lines (or a JSON array with --format json).":
        "以 JSON Lines 格式（或使用 --format json 输出 JSON 数组）导出全部镜像记录。",
    "Output file; '-' or absent writes to standard output.": "输出文件；'-' 或不指定时写到标准输出。",
    "Output format: jsonl (JSON Lines) or json (one JSON array).":
        "输出格式：jsonl（JSON Lines）或 json（一个 JSON 数组）。",
    "Export only this region.": "只导出该地域。",
    "Import failed, nothing was changed: {error}": "导入失败，未做任何更改：{error}",
    "Cannot read {path}: {error}": "无法读取 {path}：{error}",
    "Validating": "校验中",
    "Writing": "写入中",
    "Imported {count} images into {url}.": "已导入 {count} 个镜像到 {url}。",
    "Exported {count} images.": "已导出 {count} 个镜像。",
    # db
    "Manage the catalog database schema.": "管理镜像目录数据库结构。",
    "Create the schema or apply the migrations the database lacks.":
        "创建数据库结构，或执行数据库缺少的迁移。",
    "Database schema is at revision {revision}.": "数据库结构已是版本 {revision}。",
    "Cannot open the database: {error}": "无法打开数据库：{error}",
}


def _(message: str) -> str:
    """Return `message` in the user's language."""
    if CHINESE:
        return _ZH_CN.get(message, message)
    return message
