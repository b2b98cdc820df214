"""Command-line building blocks the programs share: click option types and groups, settings values, log output.

Modules: ``flags`` (grouped --help, DURATION and LIST types), ``settings`` (``SettingsError``, ``BindAddress``,
the kube client, serving and logging groups), ``logs`` (JSON or text lines on stderr), ``entry`` (a command's
exit status, usage errors 2).

It is a top layer next to ``eni.sim``: it imports only the standard library, click and ``eni.api``, and
nothing below it may import it. It never reads flags or the environment itself; the programs under ``cmd/`` do.
"""
