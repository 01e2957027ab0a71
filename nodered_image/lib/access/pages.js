'use strict';
// The page a single sign-on user sees when the editor refuses them after the provider let them in (in
// none of the editor's groups, a local user's name, no user name): it says why and how to go on. A
// standalone page: the editor's own page would only show its login dialog again.
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function refusalPage({ message, issuer }) {
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Node-RED: no access</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; background: #f3f3f3; color: #333; margin: 0; }
main { max-width: 560px; margin: 12vh auto; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 28px 32px; }
h1 { font-size: 20px; margin: 0 0 16px; color: #a12c2c; }
p { line-height: 1.5; }
a.button { display: inline-block; margin-top: 12px; padding: 8px 14px; background: #8f0000; color: #fff; border-radius: 3px; text-decoration: none; }
code { background: #f3f3f3; padding: 1px 4px; }
</style>
</head>
<body>
<main>
<h1>No access to this Node-RED editor</h1>
<p id="reason">${escape(message)}.</p>
<p>Your single sign-on provider (<code>${escape(issuer)}</code>) decides who may use the editor by group:
ask whoever runs it to add you to one of the editor's groups (one for administrators, one for read-only
access), then sign in again.</p>
<a class="button" href="../../">Back to the login page</a>
</main>
</body>
</html>
`;
}

module.exports = { refusalPage };
