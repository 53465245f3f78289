# Emulators of the Azure endpoints keyless talks to, written from their public documentation
# (shared/docs/protocols.md 1.3-1.4 and 4; learn.microsoft.com "How to use managed identities
# for Azure resources on a VM to acquire an access token", App Service / Container Apps
# "managed identity", Azure Arc "authenticate against Azure resources", Entra "client
# credentials with a federated assertion", ARM "Storage Accounts - List Keys", Azure Storage
# "error codes"). Part of the keyless test harness: loopback only, one throwaway directory.
#
# Plain HTTP (as on the real machine): IMDS, App Service, Azure Arc, and /_emulator/ control.
# HTTPS: the Entra token endpoint, ARM listKeys, and the Azure Files kerbticket endpoint.
#
# The kerbticket endpoint is not a fake: it holds the keytab of a real principal of the MIT
# KDC, gets a real service ticket with MIT kinit + kvno, and wraps it in a KRB-CRED whose
# enc-part is carried unencrypted (etype 0), DER-encoded here from RFC 4120 5.8.

import base64, hashlib, hmac, json, os, ssl, struct, subprocess, sys, tempfile, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

CONFIG = json.load(open(sys.argv[1]))
LOCK = threading.Lock()
REQUESTS = []          # what came in, for the tests to check
SCRIPT = {}            # endpoint -> statuses to answer before serving normally
MODES = {"kerbticket": "ok", "imds": "ok"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(audience, subject, lifetime=None):
    """A JWT signed with the emulator's secret (HS256), with Entra's usual claims."""
    now = int(time.time())
    life = lifetime if lifetime is not None else CONFIG["token_lifetime"]
    claims = {
        "aud": audience, "iss": "https://sts.windows.net/%s/" % CONFIG["tenant"], "iat": now, "nbf": now,
        "exp": now + life, "oid": subject, "sub": subject, "tid": CONFIG["tenant"], "appid": subject,
    }
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(CONFIG["secret"].encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64url(sig)), now + life


def verify_token(token):
    """The claims of a token this emulator issued, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    sig = hmac.new(CONFIG["secret"].encode(), ("%s.%s" % (parts[0], parts[1])).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(b64url(sig), parts[2]):
        return None
    return json.loads(unb64url(parts[1]))


# ---- DER, RFC 4120 5.8 (KRB-CRED) -----------------------------------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    out = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(out)]) + out


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def ctx(n, content):
    return tlv(0xA0 + n, content)


def app(n, content):
    return tlv(0x60 + n, content)


def integer(v):
    return tlv(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def octets(b):
    return tlv(0x04, b)


def gstring(s):
    return tlv(0x1B, s.encode())


def gtime(t):
    return tlv(0x18, time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t)).encode())


def principal_name(name_type, components):
    return seq(ctx(0, integer(name_type)), ctx(1, seq(*[gstring(c) for c in components])))


# ---- MIT FILE ccache (version 4), read --------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        out = self.data[self.pos:self.pos + n]
        if len(out) != n:
            raise ValueError("ccache cut short")
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def data32(self):
        return self.take(self.u32())

    def principal(self):
        name_type, count = self.u32(), self.u32()
        realm = self.data32().decode()
        return name_type, realm, [self.data32().decode() for _ in range(count)]


def read_ccache(path):
    r = Reader(open(path, "rb").read())
    if r.u16() != 0x0504:
        raise ValueError("not a version 4 ccache")
    r.take(r.u16())
    r.principal()
    creds = []
    while r.pos < len(r.data):
        client, server = r.principal(), r.principal()
        enctype = r.u16()
        key = r.data32()
        auth, start, end, renew = r.u32(), r.u32(), r.u32(), r.u32()
        r.u8()
        flags = r.u32()
        for _ in range(r.u32()):
            r.u16(); r.data32()
        for _ in range(r.u32()):
            r.u16(); r.data32()
        ticket = r.data32()
        r.data32()
        creds.append(dict(client=client, server=server, enctype=enctype, key=key, auth=auth, start=start,
                          end=end, renew=renew, flags=flags, ticket=ticket))
    return creds


def krb_cred(c, enc_etype=0, cipher=None):
    """KRB-CRED for one credential; its EncKrbCredPart in the clear (etype 0) unless told."""
    info = [ctx(0, seq(ctx(0, integer(c["enctype"])), ctx(1, octets(c["key"])))),
            ctx(1, gstring(c["client"][1])), ctx(2, principal_name(c["client"][0], c["client"][2])),
            ctx(3, tlv(0x03, b"\x00" + struct.pack(">I", c["flags"]))),
            ctx(4, gtime(c["auth"]))]
    if c["start"]:
        info.append(ctx(5, gtime(c["start"])))
    info.append(ctx(6, gtime(c["end"])))
    if c["renew"]:
        info.append(ctx(7, gtime(c["renew"])))
    info += [ctx(8, gstring(c["server"][1])), ctx(9, principal_name(c["server"][0], c["server"][2]))]
    enc_part = app(29, seq(ctx(0, seq(seq(*info)))))
    return app(22, seq(ctx(0, integer(5)), ctx(1, integer(22)), ctx(2, seq(c["ticket"])),
                       ctx(3, seq(ctx(0, integer(enc_etype)), ctx(2, octets(cipher or enc_part))))))


def real_service_ticket():
    """A service ticket for the configured SPN from the MIT KDC: kinit -k, then kvno."""
    kt = CONFIG["kerbticket"]
    env = dict(os.environ, KRB5_CONFIG=kt["krb5_conf"], KRB5RCACHEDIR=os.path.dirname(kt["keytab"]))
    with tempfile.TemporaryDirectory(dir=os.path.dirname(kt["keytab"])) as d:
        cache = "FILE:%s/cc" % d
        for cmd in (["kinit", "-k", "-t", kt["keytab"], "-c", cache, kt["client"]],
                    ["kvno", "-c", cache, kt["service"]]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise ValueError("%s: %s" % (" ".join(cmd[:1]), done.stderr.strip()))
        for c in read_ccache("%s/cc" % d):
            if c["server"][2][0] == kt["service"].split("/")[0]:
                return c
    raise ValueError("kvno stored no service ticket")


# ---- HTTP -------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json; charset=utf-8", headers=()):
        data = body if isinstance(body, bytes) else (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def storage_error(self, status, code, message):
        request_id = str(uuid.uuid4())
        body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message></Error>'
                % (code, message, request_id, time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())))
        self.answer(status, body, "application/xml", [("x-ms-error-code", code), ("x-ms-request-id", request_id)])

    def record(self, endpoint, body=b""):
        with LOCK:
            REQUESTS.append({"endpoint": endpoint, "method": self.command, "path": self.path,
                             "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": body.decode(errors="replace")})
            queue = SCRIPT.get(endpoint) or []
            return queue.pop(0) if queue else None

    def scripted(self, status):
        """Answers a scripted failure as the service would."""
        bodies = {404: ("not_found", "IMDS is being updated"), 410: ("gone", "IMDS is being updated"),
                  429: ("too_many_requests", "Too many requests"), 500: ("internal_error", "Internal error"),
                  503: ("unavailable", "Service unavailable"), 403: ("forbidden", "Forbidden")}
        code, text = bodies.get(status, ("error", "Error"))
        self.answer(status, {"error": code, "error_description": text})

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        secure = isinstance(self.connection, ssl.SSLSocket)
        try:
            if not secure and url.path.startswith("/_emulator/"):
                return self.control(url.path, body)
            if not secure and url.path == "/metadata/identity/oauth2/token":
                return self.imds(query, self.record("imds"))
            if not secure and url.path == "/msi/token":
                return self.app_service(query, self.record("app_service"))
            if not secure and url.path == "/arc/token":
                return self.arc(query, self.record("arc"))
            if secure and url.path == "/%s/oauth2/v2.0/token" % CONFIG["tenant"]:
                return self.entra(body, self.record("entra", body))
            if secure and url.path.endswith("/listKeys"):
                return self.list_keys(url.path, self.record("arm"))
            if secure and url.path == "/" and query.get("comp") == "kerbticket":
                return self.kerbticket(query, self.record("kerbticket"))
            self.answer(404, {"error": "not_found", "error_description": "no such endpoint: %s" % url.path})
        except Exception as e:  # a bug here must show in the test's output, not hang it
            self.answer(500, {"error": "emulator_failure", "error_description": repr(e)})

    def control(self, path, body):
        with LOCK:
            if path == "/_emulator/script":
                for endpoint, statuses in json.loads(body).items():
                    SCRIPT[endpoint] = list(statuses)
                return self.answer(200, {})
            if path == "/_emulator/mode":
                MODES.update(json.loads(body))
                return self.answer(200, {})
            if path == "/_emulator/requests":
                return self.answer(200, REQUESTS)
            if path == "/_emulator/token":
                req = json.loads(body)
                token, _ = issue_token(req["audience"], "given", req.get("lifetime"))
                return self.answer(200, {"token": token})
        self.answer(404, {})

    # -- IMDS (VM): GET, Metadata: true, api-version, resource, optional identity selector
    def imds(self, q, scripted):
        if self.headers.get("Metadata") != "true":
            return self.answer(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        if scripted:
            return self.scripted(scripted)
        if MODES["imds"] == "no_identity":
            # A VM without a managed identity: IMDS answers every token request so.
            return self.answer(400, {"error": "invalid_request", "error_description": "Identity not found"})
        if "api-version" not in q:
            return self.answer(400, {"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"})
        if not q.get("resource"):
            return self.answer(400, {"error": "invalid_request", "error_description": "Required audience parameter not specified"})
        ident = CONFIG["imds_identities"]
        chosen = None
        for key, field in (("client_id", "client_id"), ("object_id", "object_id"), ("msi_res_id", "resource_id")):
            if key in q:
                chosen = next((i for i in ident if i[field] == q[key]), None)
                if chosen is None:
                    return self.answer(400, {"error": "invalid_request", "error_description": "Identity not found"})
        if chosen is None:
            if len(ident) != 1:
                return self.answer(400, {"error": "invalid_request", "error_description":
                                         "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"})
            chosen = ident[0]
        token, exp = issue_token(q["resource"], chosen["object_id"])
        self.answer(200, {"access_token": token, "refresh_token": "", "expires_in": str(exp - int(time.time())),
                          "expires_on": str(exp), "not_before": str(int(time.time())), "resource": q["resource"],
                          "token_type": "Bearer"})

    # -- App Service / Functions: X-IDENTITY-HEADER, api-version 2019-08-01
    def app_service(self, q, scripted):
        if self.headers.get("X-IDENTITY-HEADER") != CONFIG["app_service_header"]:
            return self.answer(401, {"error": "unauthorized", "error_description": "X-IDENTITY-HEADER missing or wrong"})
        if scripted:
            return self.scripted(scripted)
        if q.get("api-version") != "2019-08-01" or not q.get("resource"):
            return self.answer(400, {"error": "invalid_request", "error_description": "api-version 2019-08-01 and resource required"})
        token, exp = issue_token(q["resource"], "app-service-identity")
        self.answer(200, {"access_token": token, "expires_on": str(exp), "resource": q["resource"],
                          "token_type": "Bearer", "client_id": "app-service-client"})

    # -- Azure Arc (HIMDS): 401 + challenge file, then Basic <file contents>
    def arc(self, q, scripted):
        if self.headers.get("Metadata") != "true":
            return self.answer(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        if scripted:
            return self.scripted(scripted)
        auth = self.headers.get("Authorization", "")
        directory = CONFIG["arc_token_dir"]
        if not auth.startswith("Basic "):
            path = os.path.join(directory, "%s.key" % uuid.uuid4())
            with open(path, "w") as f:
                f.write(base64.b64encode(os.urandom(32)).decode())
            return self.answer(401, {"error": "unauthorized", "error_description": "challenge"},
                               headers=[("WWW-Authenticate", "Basic realm=%s" % path)])
        secret = auth[len("Basic "):]
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if open(path).read() == secret:
                os.unlink(path)
                token, exp = issue_token(q.get("resource", ""), "arc-machine")
                return self.answer(200, {"access_token": token, "expires_in": str(exp - int(time.time())),
                                         "expires_on": str(exp), "resource": q.get("resource"), "token_type": "Bearer"})
        self.answer(401, {"error": "unauthorized", "error_description": "wrong challenge answer"})

    # -- Entra token endpoint: client credentials with a federated (workload identity) assertion
    def entra(self, body, scripted):
        if scripted:
            return self.scripted(scripted)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        wi = CONFIG["workload"]
        if form.get("grant_type") != "client_credentials":
            return self.answer(400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"})
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return self.answer(400, {"error": "invalid_request", "error_description": "AADSTS50027: bad client_assertion_type"})
        if form.get("client_id") != wi["client_id"]:
            return self.answer(400, {"error": "unauthorized_client", "error_description":
                                     "AADSTS700016: Application with identifier '%s' was not found in the directory" % form.get("client_id")})
        if form.get("client_assertion") != wi["assertion"]:
            return self.answer(401, {"error": "invalid_client", "error_description":
                                     "AADSTS700213: No matching federated identity record found for presented assertion subject"})
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return self.answer(400, {"error": "invalid_scope", "error_description": "AADSTS1002012: scope must end in /.default"})
        token, exp = issue_token(scope[: -len("/.default")], wi["client_id"])
        self.answer(200, {"token_type": "Bearer", "expires_in": exp - int(time.time()),
                          "ext_expires_in": exp - int(time.time()), "access_token": token})

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return verify_token(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None

    # -- ARM: POST .../storageAccounts/{a}/listKeys
    def list_keys(self, path, scripted):
        if scripted:
            return self.answer(scripted, {"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action 'Microsoft.Storage/storageAccounts/listKeys/action'."}})
        claims = self.bearer()
        if claims is None or claims["exp"] < time.time():
            return self.answer(401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}})
        if claims["aud"].rstrip("/") != "https://management.azure.com":
            return self.answer(401, {"error": {"code": "InvalidAuthenticationTokenAudience", "message":
                                               "The access token has been obtained for wrong audience or resource '%s'." % claims["aud"]}})
        arm = CONFIG["arm"]
        want = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s/listKeys" % (
            arm["subscription"], arm["resource_group"], arm["account"])
        if path != want:
            return self.answer(404, {"error": {"code": "ResourceNotFound", "message":
                                               "The Resource '%s' was not found." % path.rsplit("/", 1)[0]}})
        now = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
        self.answer(200, {"keys": [{"creationTime": now, "keyName": "key1", "value": arm["key"], "permissions": "FULL"},
                                   {"creationTime": now, "keyName": "key2", "value": "c2Vjb25k", "permissions": "FULL"}]})

    # -- Azure Files: POST /?restype=service&comp=kerbticket
    def kerbticket(self, q, scripted):
        if self.command != "POST" or q.get("restype") != "service":
            return self.storage_error(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.")
        if not self.headers.get("x-ms-version"):
            return self.storage_error(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
        if not self.headers.get("x-ms-date"):
            return self.storage_error(403, "AuthenticationFailed", "x-ms-date missing.")
        claims = self.bearer()
        if claims is None:
            return self.storage_error(401, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format. Check the value of Authorization header.")
        if claims["aud"] != "https://storage.azure.com":
            return self.storage_error(401, "InvalidAuthenticationInfo", "Audience validation failed. Audience did not match.")
        if claims["exp"] < time.time():
            return self.storage_error(401, "InvalidAuthenticationInfo", "Lifetime validation failed. The token is expired.")
        if scripted:
            return self.storage_error(scripted, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
        mode = MODES["kerbticket"]
        if mode == "oauth_disabled":
            # Azure's answer for an account without SMB OAuth is not public (protocols.md,
            # open question 1); this stand-in says so in words, as storage errors do.
            return self.storage_error(403, "AuthenticationFailed", "SMB OAuth is not enabled on this storage account.")
        if mode == "garbage":
            ticket = base64.b64encode(b"\x76\x82\x01\x00 this is not a KRB-CRED").decode()
            return self.answer(200, {"kerberosServiceTicket": ticket, "sessionKey": "", "expirationTime": "2030-01-01T00:00:00.000Z"})
        c = real_service_ticket()
        der = krb_cred(c, 18, os.urandom(200)) if mode == "encrypted" else krb_cred(c)
        self.answer(200, {"kerberosServiceTicket": base64.b64encode(der).decode(),
                          "sessionKey": base64.b64encode(c["key"]).decode(),
                          "expirationTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(c["end"]))})


def serve(port, tls):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CONFIG["cert"], CONFIG["key"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()


serve(CONFIG["http_port"], False)
serve(CONFIG["https_port"], True)
print("ready", flush=True)
threading.Event().wait()
