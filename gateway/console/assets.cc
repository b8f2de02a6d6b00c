// The console's only static files: its style sheet and the one script, for
// upload progress bars (every page works without it).
#include <map>

#include "gateway/console/console_impl.h"

namespace itaku::gateway::console {

const std::pair<std::string, std::string>* StaticFile(const std::string& name) {
  static const std::map<std::string, std::pair<std::string, std::string>> k = {
      {"console.css", {"text/css; charset=utf-8", R"(
body { font-family: "IPAexGothic", "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif;
  margin: 0; color: #1b1b1b; background: #f6f7f9; line-height: 1.6; }
header { background: #123a5c; color: #fff; padding: .5rem 1rem; display: flex; flex-wrap: wrap;
  align-items: center; gap: 1rem; }
header a { color: #fff; margin-right: .8rem; }
header .brand { font-weight: bold; }
header .me form { display: inline; margin-left: .5rem; }
header .me button { background: #fff; color: #123a5c; border: 1px solid #fff; }
main { padding: 1rem 1.5rem; max-width: 80rem; }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f5a623; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; color: #000; padding: .3rem; }
table { border-collapse: collapse; background: #fff; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #c8ccd2; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #e9edf2; }
.error { color: #b00020; font-weight: bold; }
.notice { background: #e7f4e4; border: 1px solid #8bc34a; padding: .4rem .8rem; }
.warn { background: #fff4e5; border-left: 4px solid #f57c00; padding: .3rem .8rem; }
.field { margin: .6rem 0; } .field label { display: block; font-weight: bold; }
.field label.check { display: inline-block; font-weight: normal; margin-right: 1.2rem; }
fieldset { border: 0; padding: 0; margin: 0; } legend { font-weight: bold; padding: 0; }
input, select, textarea, button { font-size: 1rem; padding: .3rem .4rem; }
button { background: #123a5c; color: #fff; border: 0; border-radius: 3px; padding: .4rem 1rem; cursor: pointer; }
button.danger { background: #b00020; }
.diff { background: #fff3b0; font-weight: bold; }
.withheld { color: #777; }
section.card { background: #fff; border: 1px solid #d5d9de; padding: .5rem 1rem; margin-bottom: 1rem; }
.qr svg { width: 220px; height: 220px; }
progress { width: 30rem; }
.hidden { display: none; }
pre { background: #fff; border: 1px solid #ddd; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
)"}},
      {"console.js",
       {"text/javascript; charset=utf-8",
        R"(// Upload progress for forms marked data-progress; without this script the
// same forms post normally.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('form[data-progress]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var bar = document.getElementById(form.getAttribute('data-progress'));
      var status = document.getElementById(form.getAttribute('data-progress') + '-text');
      bar.classList.remove('hidden');
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable) {
          bar.max = e.total; bar.value = e.loaded;
          if (status) status.textContent = 'アップロード中: ' + Math.floor(e.loaded * 100 / e.total) + '%';
        }
      });
      xhr.addEventListener('load', function () {
        if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.addEventListener('error', function () {
        if (status) status.textContent = 'アップロードに失敗しました。接続を確認して、もう一度送信してください。';
      });
      xhr.send(new FormData(form));
      if (status) status.textContent = 'アップロード中…';
    });
  });
});
)"}},
  };
  auto it = k.find(name);
  return it == k.end() ? nullptr : &it->second;
}

}  // namespace itaku::gateway::console
