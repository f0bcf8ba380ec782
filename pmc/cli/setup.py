"""``pmc setup plan|apply|verify``: redundancy setup from the command line.

- ``plan`` observes the servers and prints every step with its reason and diff (changes nothing);
- ``apply`` prints the plan, asks before changing anything (unless ``--yes``), applies it as a
  Job and prints its events; a failure is rolled back on every server;
- ``verify`` runs the manual's checks, one line each.

Exit codes: 0 done (verify: all checks pass), 1 failed and rolled back (verify: a check
failed), 2 bad input (nothing was changed), 130 cancelled.
"""

from __future__ import annotations

import argparse

from pmc.cli.common import ExitCode, run, run_job, show_confirm_run, workspace_of
from pmc.cli.connect import add_connection_options
from pmc.inventory import Architecture, Cluster
from pmc.plan import Plan, render_text
from pmc.setup import SUPPORTED, SetupOptions
from pmc.setup import jobs as setup_jobs
from pmc.setup.planning import validate_cluster
from pmc.workspace import Workspace


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="setup_command", metavar="ACTION", required=True)
    for name, text, handler in (
        ("plan", "show every change, with reasons and diffs (changes nothing)", _plan),
        ("apply", "apply the plan after asking (rolled back on failure)", _apply),
        ("verify", "run the manual's checks on the servers", _verify),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("--cluster", required=True, help="cluster name in the inventory")
        p.add_argument(
            "--architecture",
            choices=[a.value for a in SUPPORTED],
            help="redundancy architecture (default: the cluster's own)",
        )
        add_connection_options(p)
        if name in ("plan", "apply"):
            p.add_argument(
                "--permit-root-login",
                choices=["prohibit-password", "yes"],
                default="prohibit-password",
                help="sshd PermitRootLogin to ensure (default: keys only)",
            )
            p.add_argument(
                "--listen-all",
                action="store_true",
                help="listen_addresses = '*' as the manual says (default: localhost + eth2)",
            )
            p.add_argument(
                "--harden-root-login",
                action="store_true",
                help="PermitRootLogin prohibit-password even where it is 'yes' (root passwords"
                " refused; PMC must log in by key)",
            )
        if name == "apply":
            p.add_argument("--yes", action="store_true", help="do not ask before changing")
        if name == "verify":
            p.add_argument(
                "--end-to-end",
                action="store_true",
                help="also run copy config once and compare the configuration tables",
            )
        p.set_defaults(handler=handler)


def _cluster(args: argparse.Namespace) -> tuple[Workspace, Cluster, Architecture]:
    workspace = workspace_of(args)
    cluster = workspace.cluster(args.cluster)
    validate_cluster(cluster)  # bad input is refused before any connection is opened
    return workspace, cluster, Architecture(args.architecture or cluster.architecture)


def _options(args: argparse.Namespace) -> SetupOptions:
    return SetupOptions(
        permit_root_login=args.permit_root_login,
        listen_all=args.listen_all,
        harden_root_login=args.harden_root_login,
    )


def _plan(args: argparse.Namespace) -> int:
    workspace, cluster, arch = _cluster(args)
    options = _options(args)
    plan = run_job(workspace, lambda: setup_jobs.plan_job(workspace, cluster, arch, options))
    print(render_text(plan), end="")
    return ExitCode.OK


def _apply(args: argparse.Namespace) -> int:
    workspace, cluster, arch = _cluster(args)
    options = _options(args)

    def question(plan: Plan) -> str | None:
        if plan.is_empty:
            return None
        return f"Apply these {len(plan.steps)} steps to {cluster.name}? [y/N] "

    plan, report = run(
        workspace,
        show_confirm_run(
            workspace.connections(cluster).values(),
            job=f"setup apply ({arch.value}) to {cluster.name}",
            first=lambda: setup_jobs.plan_job(workspace, cluster, arch, options),
            show=render_text,
            question=question,
            yes=args.yes,
            refusal="apply needs a confirmation",
            then=lambda plan: setup_jobs.apply_job(workspace, cluster, plan),
        ),
    )
    if report is not None:
        print(report)
    else:
        print("Nothing to apply." if plan.is_empty else "Nothing was changed.")
    return ExitCode.OK


def _verify(args: argparse.Namespace) -> int:
    """The checks' lines are the job's (shown as it runs); the summary comes last."""
    workspace, cluster, arch = _cluster(args)
    try:
        report = run_job(
            workspace,
            lambda: setup_jobs.verify_job(workspace, cluster, arch, end_to_end=args.end_to_end),
        )
    except setup_jobs.VerifyFailed as exc:
        print(exc.report.summary)
        return ExitCode.FAILED
    print(report.summary)
    return ExitCode.OK
