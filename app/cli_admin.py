"""Administration subcommands: townships, desks, accounts, catalog, holidays."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app.cli_commands import (
    _add,
    _admin,
    _runtime,
    parse_role_arg,
    print_table,
    read_text,
    role_help,
)

if TYPE_CHECKING:
    from forms.schema import FormField, Item, Material


OUTPUT_HELP = "输出文件（默认打印到屏幕）"


def register(sub: Any) -> None:
    town = _add(sub, "township", "乡镇与窗口", None)
    town_sub = town.add_subparsers(dest="town_command", metavar="操作", required=True)
    p = _add(town_sub, "add", "新增乡镇（自动建立六个站办所）", cmd_township_add)
    p.add_argument("code", metavar="区划代码", help="9位乡镇区划代码")
    p.add_argument("name", metavar="名称")
    p.add_argument("--county-code", required=True, metavar="县级代码", help="6位县级区划代码")
    p.add_argument("--county-name", required=True, metavar="县名", help="所属县（市、区）名称")
    p = _add(town_sub, "desk", "新增窗口", cmd_desk_add)
    p.add_argument("township", metavar="乡镇代码")
    p.add_argument("code", metavar="窗口代码", help="2位，如 A1")
    p.add_argument("--name", default="", metavar="名称", help="窗口名称，如 综合窗口")

    user = _add(sub, "user", "账号管理", None)
    user_sub = user.add_subparsers(dest="user_command", metavar="操作", required=True)
    p = _add(user_sub, "add", "新增账号（打印初始密码，首次登录须修改）", cmd_user_add)
    p.add_argument("username", metavar="用户名")
    p.add_argument("--name", required=True, metavar="姓名")
    p.add_argument("--role", required=True, type=parse_role_arg, metavar="角色", help=role_help())
    p.add_argument("--township", default="", metavar="乡镇代码", help="县级账号不填")
    p.add_argument("--station", default=None, metavar="站办所", help="站办所账号必填")
    _add(user_sub, "list", "列出账号", cmd_user_list)
    for name, text, handler in (
        ("lock", "停用账号", cmd_user_lock),
        ("unlock", "启用账号并清除密码错误锁定", cmd_user_unlock),
        ("reset-password", "重置密码（打印新的初始密码）", cmd_user_reset),
    ):
        _add(user_sub, name, text, handler).add_argument("username", metavar="用户名")

    cat = _add(sub, "catalog", "事项目录", None)
    cat_sub = cat.add_subparsers(dest="catalog_command", metavar="操作", required=True)
    p = _add(cat_sub, "import", "导入事项目录版本（JSON）并启用", cmd_catalog_import)
    p.add_argument("file", metavar="文件")
    p.add_argument("--no-activate", action="store_true", help="只导入，不启用")
    p = _add(cat_sub, "export", "导出事项目录", cmd_catalog_export)
    p.add_argument("-o", "--output", default="-", metavar="文件", help=OUTPUT_HELP)
    p.add_argument("--version", default=None, metavar="版本", help="默认导出启用中的版本")
    p = _add(cat_sub, "list", "列出事项（或 --versions 列出版本）", cmd_catalog_list)
    p.add_argument("--versions", action="store_true", help="列出已导入的版本")
    p = _add(cat_sub, "show", "显示一个事项的办事指南", cmd_catalog_show)
    p.add_argument("code", metavar="事项编码")

    st = _add(sub, "settings", "系统设置（文书上的机关信息、进度查询网址、空闲锁定时间等）", None)
    st_sub = st.add_subparsers(dest="settings_command", metavar="操作", required=True)
    p = _add(st_sub, "list", "列出全部设置及当前值", cmd_settings_list)
    p.add_argument("--township", default=None, metavar="乡镇代码")
    p = _add(st_sub, "set", "修改一项设置", cmd_settings_set)
    p.add_argument("key", metavar="设置项")
    p.add_argument("value", metavar="值")
    p.add_argument("--township", default=None, metavar="乡镇代码", help="按乡镇的设置项必填")

    hol = _add(sub, "holidays", "法定节假日安排", None)
    hol_sub = hol.add_subparsers(dest="holidays_command", metavar="操作", required=True)
    p = _add(hol_sub, "import", "导入节假日文件（替换文件中各年份的安排）", cmd_holidays_import)
    p.add_argument("file", metavar="文件")
    p = _add(hol_sub, "show", "显示某年的节假日安排", cmd_holidays_show)
    p.add_argument("--year", type=int, default=None, metavar="年份", help="默认今年")
    p = _add(hol_sub, "export", "导出节假日文件", cmd_holidays_export)
    p.add_argument("--year", type=int, action="append", metavar="年份", help="可重复；默认全部年份")
    p.add_argument("-o", "--output", default="-", metavar="文件", help=OUTPUT_HELP)


def cmd_township_add(args: argparse.Namespace) -> int:
    from app.services import org

    rt = _runtime()
    org.add_township(
        rt,
        _admin(),
        code=args.code,
        name=args.name,
        county_code=args.county_code,
        county_name=args.county_name,
    )
    print(
        f"已新增乡镇 {args.code} {args.name}（含计生、农业、农经、劳动、民政、退役军人六个站办所）"
    )
    return 0


def cmd_desk_add(args: argparse.Namespace) -> int:
    from app.services import org

    rt = _runtime()
    org.add_desk(rt, _admin(), township=args.township, code=args.code, name=args.name)
    print(f"已新增窗口 {args.code.upper()}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from app.services import accounts

    rt = _runtime()
    password = accounts.create_account(
        rt,
        _admin(),
        username=args.username,
        display_name=args.name,
        role=args.role,
        township=args.township,
        station=args.station,
    )
    print(f"已新增账号 {args.username.lower()}（{args.role.label}），初始密码：{password}")
    print("首次登录须修改密码。")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from app.services import accounts, org

    rows = [
        [a.username, a.display_name, a.role.label, a.township, org.station_name(a.station), a.state]
        for a in accounts.list_accounts(_runtime())
    ]
    print_table(["用户名", "姓名", "角色", "乡镇", "站办所", "状态"], rows)
    return 0


def cmd_user_lock(args: argparse.Namespace) -> int:
    from app.services import accounts

    accounts.set_locked(_runtime(), _admin(), args.username, locked=True)
    print(f"账号 {args.username} 已停用")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from app.services import accounts

    accounts.set_locked(_runtime(), _admin(), args.username, locked=False)
    print(f"账号 {args.username} 已启用，密码错误锁定已清除")
    return 0


def cmd_user_reset(args: argparse.Namespace) -> int:
    from app.services import accounts

    password = accounts.reset_password(_runtime(), _admin(), args.username)
    print(f"账号 {args.username} 的新初始密码：{password}（下次登录须修改）")
    return 0


def cmd_catalog_import(args: argparse.Namespace) -> int:
    from app.services import catalog

    rt = _runtime()
    result = catalog.import_catalog(
        rt, _admin(), read_text(args.file), activate=not args.no_activate
    )
    state = "未启用" if args.no_activate else "已启用"
    print(f"已导入事项目录 {result.version}：{len(result.items)} 个事项（{state}）")
    return 0


def write_output(path: str, text: str) -> None:
    if path == "-":
        print(text)
        return
    from pathlib import Path

    Path(path).write_text(text, encoding="utf-8")
    print(f"已写入 {path}")


def cmd_catalog_export(args: argparse.Namespace) -> int:
    from app.services import catalog

    _runtime()
    write_output(args.output, catalog.export_catalog(args.version))
    return 0


def cmd_catalog_list(args: argparse.Namespace) -> int:
    from app.services import catalog, org

    _runtime()
    if args.versions:
        rows = [[v, "启用" if a else "", n] for v, a, n in catalog.list_versions()]
        print_table(["版本", "状态", "事项数"], rows)
        return 0
    cat = catalog.get_catalog()
    rows = [
        [
            i.code,
            i.name,
            i.level_label,
            org.station_name(i.station) or i.county_department or "",
            i.promised_label,
        ]
        for i in cat.items
    ]
    print(f"事项目录 {cat.version}（{cat.county_name}）")
    print_table(["事项编码", "事项名称", "层级", "办理单位", "承诺时限"], rows)
    return 0


def cmd_catalog_show(args: argparse.Namespace) -> int:
    from app.services import catalog

    _runtime()
    print("\n".join(guide_lines(catalog.get_item(args.code))))
    return 0


def _element_text(item: Item, key: str) -> str | None:
    """One element of the guide as a reader expects it: labels, units, no raw codes."""
    from forms.schema import STATIONS

    if key == "level":
        return item.level_label
    if key == "station":
        return STATIONS.get(item.station, item.station) if item.station else None
    if key == "legal_limit_days":
        return f"{item.legal_limit_days}个工作日"
    if key == "promised_limit_days":
        return f"{item.promised_label}（{item.kind_label}）"
    value = getattr(item, key, None)
    if isinstance(value, tuple):
        return "；".join(str(v) for v in value) if value else None
    return str(value) if value else None


def _material_line(n: int, m: Material) -> str:
    need = "必要" if m.required else "非必要"
    extra = "（可容缺）" if m.deferrable else ""
    extra += "（可告知承诺）" if m.commitment_allowed else ""
    sample = f"；示范样表：{m.sample}" if m.sample else ""
    return (
        f"  {n}. {m.name}：{m.form_label}{m.copies}份，{m.spec}；{m.source}；{need}{extra}{sample}"
    )


def _field_line(n: int, f: FormField) -> str:
    from forms.schema import FIELD_TYPES

    parts = [FIELD_TYPES.get(f.type, f.type), "必填" if f.required else "选填"]
    if f.choices:
        parts.append("可选：" + "/".join(f.choices))
    if f.help:
        parts.append(f.help)
    return f"  {n}. {f.label}（{'；'.join(parts)}）"


def guide_lines(item: Item) -> list[str]:
    """The item's 办事指南, element by element, in the order of the standard."""
    from forms.schema import ELEMENT_LABELS

    lines: list[str] = []
    for key, label in ELEMENT_LABELS.items():
        if key == "materials":
            lines.append(f"{label}：")
            lines += [_material_line(n, m) for n, m in enumerate(item.materials, 1)]
        elif key == "form":
            lines.append(f"{label}：" + ("" if item.form else "无"))
            lines += [_field_line(n, f) for n, f in enumerate(item.form, 1)]
        else:
            text = _element_text(item, key)
            if text is not None:
                lines.append(f"{label}：{text}")
    return lines


def cmd_holidays_import(args: argparse.Namespace) -> int:
    from app.services import holidays

    rt = _runtime()
    years = holidays.import_holidays(rt, _admin(), read_text(args.file), source=f"file:{args.file}")
    print("已导入节假日安排：" + "、".join(f"{y}年" for y in years))
    return 0


def cmd_holidays_show(args: argparse.Namespace) -> int:
    from app.services.holidays import calendar_warning

    rt = _runtime()
    year = args.year or rt.today().year
    if not rt.calendar.has_data(year):
        print(f"{year}年尚无法定节假日安排数据（按周一至周五临时计算，期限标注为“暂定”）")
    rows = [
        [e.day.isoformat(), "放假" if e.kind == "holiday" else "调休上班", e.name]
        for e in rt.calendar.entries()
        if e.day.year == year
    ]
    if rows:
        print_table(["日期", "类型", "名称"], rows)
    warning = calendar_warning(rt)
    if warning:
        print(f"提示：{warning}")
    return 0


def cmd_holidays_export(args: argparse.Namespace) -> int:
    from app.services import holidays

    rt = _runtime()
    write_output(args.output, holidays.export_holidays(rt, args.year))
    return 0


def cmd_settings_list(args: argparse.Namespace) -> int:
    from app.services import settings

    _runtime()
    rows = []
    for key, s in settings.SETTINGS.items():
        scope = "按乡镇" if s.per_township else "全局"
        value = settings.get(key, args.township) if (args.township or not s.per_township) else ""
        rows.append([key, s.label, scope, value or f"（{s.help}）"])
    print_table(["设置项", "名称", "范围", "当前值"], rows)
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    from app.services import settings

    rt = _runtime()
    settings.set_value(rt, _admin(), args.key, args.value, township=args.township)
    print(f"已设置「{settings.SETTINGS[args.key].label}」为：{args.value}")
    return 0
