// phasegate sign-in: a login link carries the token in the URL fragment (/login#token=…),
// which browsers never send to a server, write to logs or put in a Referer. This script takes
// it out of the address bar and history first, then posts it with the sign-in form; the
// answer sets the session cookie and goes on to the page asked for.
(() => {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return;
  history.replaceState(null, '', location.pathname + location.search);
  const form = document.getElementById('login-form');
  const field = form?.elements.namedItem('token');
  if (!form || !field) return;
  field.value = token;
  form.submit();
})();
