"""``internvideo zoo list|info|download``: the released checkpoints the kit knows, and fetching them."""
from __future__ import annotations

import argparse
import sys

FAMILIES = {"videomae": "videomae", "mm": "internvideo_mm"}


def _family(arch: str) -> str:
    for family, prefix in FAMILIES.items():
        if arch.startswith(prefix):
            return family
    return "other"


def _short_license(text: str) -> str:
    return text.split(" (", 1)[0]


def _entries(family: str | None):
    from internvideo_core.registry import get_pretrained, list_pretrained

    entries = [get_pretrained(n) for n in list_pretrained()]
    return [e for e in entries if family is None or _family(e.arch) == family]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    """One row per checkpoint, narrow enough for an 80-column terminal; ``--wide`` adds the architecture, the
    label map and the URL (``zoo info NAME`` shows everything about one)."""
    from internvideo_core.registry import cached_path

    entries = _entries(args.family)
    header = ["name", "input", "classes", "licence", "cached"]
    if args.wide:
        header += ["arch", "label map", "url"]
    rows = [header]
    for e in entries:
        cached = cached_path(e.name, args.cache_dir).exists()
        row = [e.name, f"{e.num_frames}x{e.img_size}px", "-" if e.num_classes is None else str(e.num_classes),
               _short_license(e.license), "yes" if cached else "no"]
        if args.wide:
            row += [e.arch, e.label_map or "-", e.url]
        rows.append(row)
    print(_table(rows))
    print(f"\n{len(entries)} checkpoints (input: frames x crop size). `internvideo zoo info NAME` for details, "
          "`internvideo zoo download NAME` to fetch one, `--wide` for architecture and URL.")
    return 0


def _info(args: argparse.Namespace) -> int:
    from internvideo_core.registry import cached_path, get_pretrained, list_models, mirrors_for

    try:
        e = get_pretrained(args.name)
    except KeyError as err:
        print(err.args[0], file=sys.stderr)
        return 2
    path = cached_path(e.name, args.cache_dir)
    arch_note = "" if e.arch in list_models() else "  (architecture not registered in this install)"
    fields = [
        ("name", e.name),
        ("family", _family(e.arch)),
        ("arch", e.arch + arch_note),
        ("url", e.url),
        *[("mirror", m) for m in mirrors_for(e.name)],
        ("filename", e.filename),
        ("cache path", f"{path} ({'present' if path.exists() else 'not downloaded'})"),
        ("sha256", e.sha256 or "not published (recorded on first download in <file>.sha256)"),
        ("licence", e.license),
        ("origin", e.origin),
        ("input", e.input.describe()),
        ("test views", e.input.describe("test")),
        ("protocol from", e.input.notes or "-"),
        ("classes", "-" if e.num_classes is None else str(e.num_classes)),
        ("label map", f"internvideo_core/assets/labels/{e.label_map}.txt" if e.label_map else "-"),
        ("overrides", repr(e.overrides) if e.overrides else "-"),
        ("notes", e.notes or "-"),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        print(f"{key.ljust(width)}  {value}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from internvideo_core.hub import HubError
    from internvideo_core.registry import download_pretrained

    status = 0
    for name in args.names:
        try:
            path = download_pretrained(name, cache_dir=args.cache_dir, progress=not args.quiet,
                                       recheck=args.verify)
        except KeyError as err:
            print(err.args[0], file=sys.stderr)
            status = 2
        except HubError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
        else:
            print(path)
    return status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="list, describe and download the released checkpoints")
    zsub = p.add_subparsers(dest="zoo_command", metavar="ACTION")

    lst = zsub.add_parser("list", help="table of every released checkpoint")
    lst.add_argument("--family", choices=sorted(FAMILIES), help="videomae: only VideoMAE checkpoints; mm: only InternVideo-MM checkpoints")
    lst.add_argument("--cache-dir", default=None, help="cache folder to look in (default: INTERNVIDEO_CACHE)")
    lst.add_argument("--wide", action="store_true", help="also the architecture, label map and URL (wide terminals)")
    lst.set_defaults(func=_list)

    info = zsub.add_parser("info", help="everything known about one checkpoint")
    info.add_argument("name", help="a checkpoint name from `internvideo zoo list`")
    info.add_argument("--cache-dir", default=None, help="cache folder to look in (default: INTERNVIDEO_CACHE)")
    info.set_defaults(func=_info)

    dl = zsub.add_parser("download", help="download (resumable, sha256-checked) into the cache, print the path")
    dl.add_argument("names", nargs="+", metavar="NAME", help="checkpoint names from `internvideo zoo list`")
    dl.add_argument("--cache-dir", default=None, help="folder to save into (default: INTERNVIDEO_CACHE or "
                                                      "~/.cache/internvideo)")
    dl.add_argument("--quiet", action="store_true", help="no progress bar")
    dl.add_argument("--verify", action="store_true",
                    help="re-hash a cached file even if it looks unchanged since it was last verified")
    dl.set_defaults(func=_download)

    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])
