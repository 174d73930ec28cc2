"""repo.https-config: proxies and infrastructure code enforce HTTPS; plain HTTP is only ever a redirect."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.checks.base import check, finding
from harness.context import Context
from harness.model import Evidence, Finding, Outcome
from harness.probes import inventory
from harness.probes.repository import RepoSnapshot

ID = "repo.https-config"
SHOWN = 12

IAC_GOOD = re.compile(
    r"""(https_only\s*[=:]\s*(true|True)|httpsOnly\s*[=:]\s*true|viewer_protocol_policy\s*=\s*"(redirect-to-https|https-only)"
|viewerProtocolPolicy['"]?\s*[:=]\s*['"](redirect-to-https|https-only)|aws_acm_certificate|acm\.Certificate\(
|managed_certificate|ManagedCertificate|certificate_arn|certificateArn|min(imum)?_tls_version|minTlsVersion
|https_traffic_only_enabled\s*=\s*true|enable_https_traffic_only\s*=\s*true|supportsHttpsTrafficOnly['"]?\s*[:=]\s*true
|cert-manager|ClusterIssuer|ssl_policy|SslPolicy|redirect-to-https|HTTPS_REDIRECT|"HTTP_301"
|ViewerProtocolPolicy\.(REDIRECT_TO_HTTPS|HTTPS_ONLY)|redirectHTTP\s*:\s*true|redirect_http\s*=\s*True
|ApplicationProtocol\.HTTPS|redirect_http_to_https\s*=\s*true|redirectHttpToHttps['"]?\s*:\s*true)""".replace("\n", "")
)
# Endpoints that have no plain-HTTP side at all: API Gateway, AppSync and Lambda function URLs answer only on HTTPS.
HTTPS_BY_DESIGN = re.compile(
    r"""(resource\s+"aws_api_gateway_rest_api"|resource\s+"aws_apigatewayv2_api"|resource\s+"aws_lambda_function_url"
|AWS::ApiGateway::RestApi|AWS::ApiGatewayV2::Api|AWS::Serverless::(Http)?Api\b|^\s*Type:\s*['"]?(Api|HttpApi)['"]?\s*$
|FunctionUrlConfig|\b(LambdaRestApi|RestApi|HttpApi|SpecRestApi)\(|\.(addFunctionUrl|add_function_url)\(
|AWS::AppSync::GraphQLApi|resource\s+"aws_appsync_graphql_api"|\b(GraphqlApi|CfnGraphQLApi)\()""".replace("\n", ""),
    re.M,
)
SERVERLESS_HTTP_EVENT = re.compile(r"^\s*-\s*(http|httpApi)\s*:", re.M)  # serverless.yml: served by API Gateway
IAC_BAD = re.compile(
    r"""(https_only\s*[=:]\s*(false|False)|httpsOnly\s*[=:]\s*false|viewer_protocol_policy\s*=\s*"allow-all"
|viewerProtocolPolicy['"]?\s*[:=]\s*['"]allow-all|ssl-redirect['"]?\s*:\s*['"]false
|ViewerProtocolPolicy['"]?\s*:\s*['"]?allow-all|ViewerProtocolPolicy\.ALLOW_ALL|redirect_http_to_https\s*=\s*false)""".replace(
        "\n", ""
    )
)
TRAEFIK_GOOD = re.compile(
    r"(redirections\.entrypoint\.(to|scheme)|redirectscheme\.scheme=https|\.tls\.certresolver"
    r"|\.tls=true|entrypoints\.websecure|certificatesResolvers|redirections:|scheme:\s*https)",
    re.I,
)
HTTPS_ONLY_FRONT = re.compile(r"https_only\s*[=:]\s*(true|True)|httpsOnly\s*[=:]\s*true")
NGINX_REDIRECT = re.compile(r"(return\s+30[18]\s+https://|rewrite\s+\S+\s+https://\S*\s+(permanent|redirect))")


@dataclass(frozen=True)
class Block:
    header: str
    line: int
    end_line: int
    body: str
    depth: int


def blocks(text: str) -> list[Block]:
    """Brace blocks with their header and lines; comments (#) are ignored."""
    out: list[Block] = []
    stack: list[tuple[str, int, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if stack:
            for _h, _l, body in stack:
                body.append(line)
        if line.endswith("{"):
            stack.append((line[:-1].strip(), number, []))
        elif line.strip() == "}" and stack:
            header, start, body = stack.pop()
            out.append(Block(header, start, number, "\n".join(body[:-1]), len(stack)))
    return out


def _caddy(repo: RepoSnapshot, path: str, text: str, good: list[Evidence], bad: list[Evidence]) -> None:
    auto_off = re.search(r"^\s*auto_https\s+off", text, re.M)
    if auto_off:
        line = text.count("\n", 0, auto_off.start()) + 1
        bad.append(
            inventory.evidence_at(repo, path, line, f"{path}:{line}: auto_https off disables HTTPS", "auto_https off")
        )
    for b in blocks(text):
        if b.depth != 0 or not b.header or b.header.startswith(("(", "import")):
            continue
        sites = [s.strip() for s in re.split(r"[\s,]+", b.header) if s.strip()]
        redirects = re.search(r"^\s*redir\s+https://", b.body, re.M)
        has_tls = re.search(r"^\s*tls\b", b.body, re.M)
        for site in sites:
            plain = site.startswith("http://") or (re.fullmatch(r":(80|\d{4,5})", site) and site != ":443")
            where = f"{path}:{b.line}"
            if plain and not (redirects or has_tls):
                bad.append(
                    inventory.evidence_at(repo, path, b.line, f"{where}: Caddy site {site} serves plain HTTP", b.header)
                )
            elif plain:
                good.append(inventory.evidence_at(repo, path, b.line, f"{where}: {site} redirects to HTTPS", b.header))
            elif not auto_off and ("." in site or site.startswith(("https://", "localhost"))):
                good.append(
                    inventory.evidence_at(
                        repo,
                        path,
                        b.line,
                        f"{where}: Caddy serves {site} over HTTPS with automatic certificates and HTTP redirect",
                        b.header,
                    )
                )
            elif has_tls:
                good.append(inventory.evidence_at(repo, path, b.line, f"{where}: {site} with tls", b.header))


def _nginx(repo: RepoSnapshot, path: str, text: str, good: list[Evidence], bad: list[Evidence]) -> None:
    for b in blocks(text):
        if b.header != "server":
            continue
        listens = re.findall(r"^\s*listen\s+([^;]+);", b.body, re.M)
        ssl = any("ssl" in ln or "443" in ln for ln in listens) or "ssl_certificate" in b.body
        redirect = NGINX_REDIRECT.search(b.body)
        where = f"{path}:{b.line}"
        if redirect:
            good.append(
                inventory.evidence_at(repo, path, b.line, f"{where}: redirects HTTP to HTTPS", redirect.group(0))
            )
        elif ssl:
            good.append(inventory.evidence_at(repo, path, b.line, f"{where}: TLS listener", "; ".join(listens)))
        elif listens and not all(re.search(r"(127\.0\.0\.1|localhost|\[::1\])", ln) for ln in listens):
            bad.append(
                inventory.evidence_at(
                    repo,
                    path,
                    b.line,
                    f"{where}: server listens on {', '.join(listens)} without TLS or a redirect to HTTPS",
                    "; ".join(listens),
                )
            )


def _alb(repo: RepoSnapshot, path: str, text: str, good: list[Evidence], bad: list[Evidence]) -> None:
    for b in blocks(text):
        if not re.match(r'resource\s+"aws_(lb|alb)_listener"', b.header):
            continue
        proto = re.search(r'^\s*protocol\s*=\s*"(\w+)"', b.body, re.M)
        where = f"{path}:{b.line}"
        if proto and proto.group(1) in ("HTTPS", "TLS") and "certificate_arn" in b.body:
            good.append(
                inventory.evidence_at(
                    repo, path, b.line, f"{where}: {proto.group(1)} listener with a certificate", b.header
                )
            )
        elif (
            proto and proto.group(1) == "HTTP" and re.search(r'protocol\s*=\s*"HTTPS"', b.body) and "redirect" in b.body
        ):
            good.append(
                inventory.evidence_at(repo, path, b.line, f"{where}: HTTP listener redirects to HTTPS", b.header)
            )
        elif proto and proto.group(1) == "HTTP" and "redirect" not in b.body:
            bad.append(
                inventory.evidence_at(
                    repo,
                    path,
                    b.line,
                    f"{path}:{b.line}: load balancer listener forwards plain HTTP without a redirect",
                    b.header,
                )
            )


def _ingress(
    repo: RepoSnapshot, path: str, docs: list[Any], text: str, good: list[Evidence], bad: list[Evidence]
) -> None:
    for doc in docs:
        if not (isinstance(doc, dict) and doc.get("kind") == "Ingress"):
            continue
        name = str((doc.get("metadata") or {}).get("name", "?")) if isinstance(doc.get("metadata"), dict) else "?"
        line = inventory.line_of(text, re.compile(rf"name:\s*['\"]?{re.escape(name)}"))
        raw_spec = doc.get("spec")
        spec = raw_spec if isinstance(raw_spec, dict) else {}
        if spec.get("tls"):
            good.append(inventory.evidence_at(repo, path, line, f"{path}:{line}: Ingress {name} has a TLS section"))
        else:
            bad.append(inventory.evidence_at(repo, path, line, f"{path}:{line}: Ingress {name} has no TLS section"))


def collect(ctx: Context, repo: RepoSnapshot) -> tuple[list[Evidence], list[Evidence], int]:
    good: list[Evidence] = []
    bad: list[Evidence] = []
    container_nginx: list[Evidence] = []  # plain listeners of nginx configurations copied into an image
    considered = 0
    inv = inventory.iac(ctx, repo)
    iac_paths = {f.path for f in inv.hosted}
    serverless_paths = {f.path for f in inv.of("serverless")}
    for f in repo.files:
        if not f.is_regular or inventory.is_vendored(f.path):
            continue
        low = f.name.lower()
        caddy = low.startswith("caddyfile") or f.suffix == ".caddyfile"
        nginx = ("nginx" in f.path.lower() and f.suffix in (".conf", ".template", "")) or low == "nginx.conf"
        traefik = low.startswith("traefik") and f.suffix in (".yml", ".yaml", ".toml")
        if not (caddy or nginx or traefik or f.path in iac_paths or inventory.is_compose(f)):
            continue
        text = repo.read_text(f.path)
        if text is None:
            continue
        ctx.check_deadline()
        considered += caddy or nginx or traefik or f.path in iac_paths
        if caddy:
            _caddy(repo, f.path, text, good, bad)
            continue
        if nginx:
            _nginx(repo, f.path, text, good, container_nginx if _in_image(ctx, repo, f.path) else bad)
            continue
        if inventory.is_compose(f) or traefik:
            hits = [h for h in inventory.grep(repo, [f], TRAEFIK_GOOD, limit=3)]
            considered += bool(hits)
            good += [inventory.evidence_at(repo, h.path, h.line, "Traefik TLS or HTTPS redirect", h.text) for h in hits]
            continue
        if f.suffix == ".tf":
            _alb(repo, f.path, text, good, bad)
        p = inventory.parsed(ctx, repo, f) if f.suffix in (".yaml", ".yml") else None
        if p is not None and not p.error:
            _ingress(repo, f.path, p.docs, text, good, bad)
        code = inventory.strip_line_comments(text)  # a setting in a comment is not a setting
        serverless = f.path in serverless_paths
        if by_design := HTTPS_BY_DESIGN.search(code) or (SERVERLESS_HTTP_EVENT.search(code) if serverless else None):
            number = text.count("\n", 0, by_design.start()) + 1
            good.append(
                inventory.evidence_at(
                    repo,
                    f.path,
                    number,
                    f"{f.path}:{number}: API Gateway / AppSync / function URL endpoints answer on HTTPS only",
                    text.splitlines()[number - 1],
                )
            )
        for number, (line, original) in enumerate(zip(code.splitlines(), text.splitlines(), strict=False), 1):
            if m := IAC_BAD.search(line):
                bad.append(inventory.evidence_at(repo, f.path, number, f"{f.path}:{number}: {m.group(0)}", original))
            elif m := IAC_GOOD.search(line):
                good.append(inventory.evidence_at(repo, f.path, number, f"{f.path}:{number}: {m.group(0)}", original))
    # An image's own nginx listener behind a managed HTTPS-only front (App Service `https_only = true`) is not
    # plain HTTP to users: the front never forwards it. Without such a front it is what users reach.
    front = next((e for e in good if HTTPS_ONLY_FRONT.search(e.summary)), None)
    if front is None:
        bad += container_nginx
    elif container_nginx:
        why = f"the image's own listener ({container_nginx[0].summary.split(': ')[0]}) is behind {front.summary}"
        good.append(inventory.evidence_at(repo, front.path or "", front.start_line or 1, why))
    return good, bad, considered


def _in_image(ctx: Context, repo: RepoSnapshot, path: str) -> bool:
    """True when a Dockerfile COPYs or ADDs this file (by name) into an image."""
    name = posixpath.basename(path)
    return any(
        ins.keyword in ("COPY", "ADD") and re.search(rf"(^|[\s/]){re.escape(name)}(\s|$)", ins.args)
        for d in inventory.dockerfiles(ctx, repo)
        for ins in d.instructions
    )


@check(
    ID,
    title="HTTPS is enforced by the proxy or infrastructure configuration",
    failure_title="Plain HTTP is served without a redirect to HTTPS",
    proves="All traffic to the service is encrypted in transit: HTTP only ever redirects to HTTPS (DS-1).",
    remediation=(
        "Terminate TLS in front of the service with managed certificates (Caddy site addresses, nginx `listen 443 ssl`"
        " with `return 301 https://` on port 80, Traefik redirections, ALB HTTPS listener with an HTTP redirect, "
        "`https_only = true`, ingress TLS with cert-manager) and never serve content on plain HTTP."
    ),
    source="repository",
    timeout=60,
)
def run(ctx: Context) -> Iterator[Finding]:
    repo, problem = inventory.open_snapshot(ctx)
    if repo is None:
        yield finding(ID, Outcome.COULD_NOT_CHECK, problem or "no repository")
        return
    good, bad, considered = collect(ctx, repo)
    if bad:
        yield finding(
            ID,
            Outcome.FAIL,
            f"{len(bad)} place(s) serve plain HTTP: " + "; ".join(e.summary for e in bad[:5]),
            bad[:SHOWN] + good[:3],
        )
    if good:
        yield finding(ID, Outcome.PASS, f"HTTPS enforced: {good[0].summary}", good[:SHOWN])
    if not good and not bad:
        why = (
            "no proxy or infrastructure configuration found"
            if not considered
            else ("proxy or infrastructure configuration found, but nothing in it sets up TLS or an HTTPS redirect")
        )
        yield finding(ID, Outcome.COULD_NOT_CHECK if not considered else Outcome.FAIL, why)
