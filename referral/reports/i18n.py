"""The reports' messages: English ids, Chinese in `referral/reports/translations`.

The reports keep their own Flask-Babel domain (some ids read differently in a report than
elsewhere, e.g. "From", "Reset"), which the reports' Python code uses through `gettext` and
`lazy_gettext` below.

In templates the domain is lexical, not dynamic: `_()`, `gettext()` and `ngettext()` written in a
template under `templates/reports/` use the reports' catalog, while the layout those pages extend
(`base.html`), what it includes (the notification badge of the header) and the shared macros keep
the interface's merged catalog (the web app's and every feature's). Handing the reports' `_` to
`render_template` would not do that: a context variable shadows the global `_` in every template
of the render, header included, and the reports' domain has none of the features' strings.
`ReportsCatalog` renames those calls when a reports template is compiled instead.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Domain
from jinja2 import pass_eval_context
from jinja2.ext import Extension
from jinja2.lexer import TOKEN_DOT, TOKEN_LPAREN, TOKEN_NAME, Token
from markupsafe import Markup

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
TEMPLATE_PREFIX = "reports/"  # the reports' templates, under templates/

domain = Domain(translation_directories=[str(TRANSLATIONS)])
gettext = domain.gettext
lazy_gettext = domain.lazy_gettext


@pass_eval_context
def template_gettext(__eval_ctx, __string: str, **variables) -> str:
    """Jinja's new-style `gettext` (escaped, always %-formatted) over the reports' catalog."""
    rv = domain.get_translations().ugettext(__string)
    return (Markup(rv) if __eval_ctx.autoescape else rv) % variables


@pass_eval_context
def template_ngettext(__eval_ctx, __singular: str, __plural: str, __num: int, **variables) -> str:
    """Jinja's new-style `ngettext` over the reports' catalog."""
    variables.setdefault("num", __num)
    rv = domain.get_translations().ungettext(__singular, __plural, __num)
    return (Markup(rv) if __eval_ctx.autoescape else rv) % variables


# What a reports template's translation calls become, and the globals they name.
TEMPLATE_CALLS = {"_": "reports_gettext", "gettext": "reports_gettext", "ngettext": "reports_ngettext"}
TEMPLATE_GLOBALS = {"reports_gettext": template_gettext, "reports_ngettext": template_ngettext}


class ReportsCatalog(Extension):
    """In templates under `reports/` only, a call of `_`, `gettext` or `ngettext` calls the reports'
    domain; every other template (and so the layout and its header) keeps the interface's."""

    def filter_stream(self, stream):
        if not (stream.name or "").startswith(TEMPLATE_PREFIX):
            yield from stream
            return
        previous = None
        for token in stream:
            # `_(...)`, not `x._(...)` nor a variable or argument that happens to be named `_`
            if (token.type == TOKEN_NAME and token.value in TEMPLATE_CALLS
                    and stream.current.type == TOKEN_LPAREN
                    and (previous is None or previous.type != TOKEN_DOT)):
                token = Token(token.lineno, TOKEN_NAME, TEMPLATE_CALLS[token.value])
            previous = token
            yield token


def init_template_i18n(app: Flask) -> None:
    """Let the reports' templates translate with the reports' domain (see the module's docstring)."""
    env = app.jinja_env
    env.globals.update(TEMPLATE_GLOBALS)
    if ReportsCatalog.identifier not in env.extensions:
        env.add_extension(ReportsCatalog)
        if env.cache is not None:  # a reports template compiled before would keep the interface's `_`
            env.cache.clear()
