import { createHash } from 'node:crypto';

/**
 * The verification page of the device grant (RFC 8628 §3.3), served at `GET /device`: no external
 * assets, no server-side values in it (the user code comes from `?user_code=` in the browser), so
 * it is one constant. The person signs in on the page (email or username and password, as POST
 * /api/v1/auth/login) or pastes an access token, or the page reuses the access token the DevPocket
 * web app keeps in `localStorage['devpocket.accessToken']`; it then calls POST
 * /api/v1/auth/device/approve or /deny. API paths are relative, so the page also works under a
 * PUBLIC_URL with a path.
 */

const STYLE = `
body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}
input,textarea{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
#user_code{font-family:monospace;font-size:1.5rem;letter-spacing:.15em;text-transform:uppercase}
button{margin:.8rem .5rem 0 0;padding:.5rem 1rem;font-size:1rem}
#status{margin-top:1rem;padding:.6rem;border-radius:4px;min-height:1.2rem}
.ok{background:#e6f4ea}.error{background:#fce8e6}small{color:#555}
`;

const SCRIPT = `
(function () {
  var TOKEN_KEY = 'devpocket.accessToken';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(window.location.search);
  if (params.get('user_code')) $('user_code').value = params.get('user_code');
  var stored = null;
  try { stored = window.localStorage.getItem(TOKEN_KEY); } catch (e) { stored = null; }
  var session = { token: stored };
  function show(text, kind) { var s = $('status'); s.textContent = text; s.className = kind || ''; }
  function refreshSignedIn() {
    $('signin').hidden = Boolean(session.token);
    $('signed_in').hidden = !session.token;
  }
  refreshSignedIn();
  function call(path, body, token) {
    var headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    return fetch(path, { method: 'POST', headers: headers, body: JSON.stringify(body) }).then(function (response) {
      if (response.status === 204) return {};
      return response.json().then(function (json) {
        if (!response.ok) throw new Error((json && json.message) || ('HTTP ' + response.status));
        return json;
      });
    });
  }
  $('signin_form').addEventListener('submit', function (event) {
    event.preventDefault();
    var login = $('login').value.trim();
    var body = login.indexOf('@') >= 0 ? { email: login, password: $('password').value } : { username: login, password: $('password').value };
    call('api/v1/auth/login', body).then(function (result) {
      session.token = result.accessToken;
      $('password').value = '';
      refreshSignedIn();
      show('Signed in as ' + result.user.username + '.', 'ok');
    }).catch(function (error) { show(error.message, 'error'); });
  });
  $('use_token').addEventListener('click', function () {
    var token = $('token').value.trim();
    if (!token) return;
    session.token = token;
    refreshSignedIn();
    show('Using the pasted access token.', 'ok');
  });
  $('sign_out').addEventListener('click', function () { session.token = null; refreshSignedIn(); show(''); });
  function decide(action) {
    if (!session.token) { show('Sign in first.', 'error'); return; }
    call('api/v1/auth/device/' + action, { userCode: $('user_code').value }, session.token).then(function () {
      show(action === 'approve' ? 'Device approved: go back to your terminal.' : 'Device denied: it will not get access.', 'ok');
    }).catch(function (error) { show(error.message, 'error'); });
  }
  $('approve').addEventListener('click', function () { decide('approve'); });
  $('deny').addEventListener('click', function () { decide('deny'); });
})();
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Headers of the page: only its own inline script and style run, it only talks to this origin, it cannot be framed. */
export const DEVICE_PAGE_HEADERS = {
  contentSecurityPolicy: [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
};

export const DEVICE_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DevPocket: connect a device</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Connect a device to your DevPocket account</h1>
<p>A command-line client showed you a code. Enter it here, check it matches what the device shows, then approve or deny.
Approving gives that device access to your account, as if it had signed in.</p>

<section id="signin">
<h2>Sign in</h2>
<form id="signin_form">
<label for="login">Email or username</label><input id="login" autocomplete="username" required>
<label for="password">Password</label><input id="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<details>
<summary>Or use an access token</summary>
<small>Signed in with Google or elsewhere? Paste an access token (the <code>accessToken</code> of a sign-in).</small>
<textarea id="token" rows="3" autocomplete="off"></textarea>
<button type="button" id="use_token">Use this token</button>
</details>
</section>

<section id="signed_in" hidden>
<p>You are signed in. <button type="button" id="sign_out">Use another account</button></p>
</section>

<label for="user_code">Code shown on the device</label>
<input id="user_code" placeholder="XXXX-XXXX" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="20">
<button type="button" id="approve">Approve</button><button type="button" id="deny">Deny</button>
<div id="status" role="status" aria-live="polite"></div>
<p><small>This page uses the access token of the DevPocket web app when it finds one in this browser
(<code>localStorage['devpocket.accessToken']</code>); otherwise sign in above. It calls
<code>POST /api/v1/auth/device/approve</code> or <code>/deny</code> with <code>{"userCode": "XXXX-XXXX"}</code>.</small></p>
<script>${SCRIPT}</script>
</body>
</html>
`;
