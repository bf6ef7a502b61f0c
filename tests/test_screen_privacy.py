"""Which windows may be captured: password managers, private windows, exclusions."""
from __future__ import annotations

import pytest

from ingest.screen.privacy import Decision, PrivacySettings, should_capture
from ingest.screen.window import WindowInfo

DEFAULTS = PrivacySettings()


def win(app: str | None, title: str | None, process: str | None = None) -> WindowInfo:
    return WindowInfo(app=app, title=title, process=process)


@pytest.mark.parametrize("window, name", [
    (win("KeePassXC", "Passwords.kdbx [Locked] - KeePassXC"), "KeePassXC"),
    (win(None, "Passwords.kdbx - KeePassXC"), "KeePassXC"),
    (win("1Password", "All Items — 1Password"), "1Password"),
    (win("Bitwarden", "Bitwarden"), "Bitwarden"),
    (win("firefox", "Vaults | Bitwarden Web Vault — Mozilla Firefox"), "Bitwarden"),
    (win("Enpass", "Enpass"), "Enpass"),
    (win("LastPass", "LastPass"), "LastPass"),
    (win("Dashlane", "Dashlane"), "Dashlane"),
    (win("KeePass", "Database.kdbx - KeePass", process="KeePass.exe"), "KeePass"),
    (win("Seahorse", "Passwords and Keys"), "Passwords and Keys"),
    (win("org.gnome.seahorse.Application", "Login"), "Passwords and Keys"),
    (win(None, "Passwords and Keys"), "Passwords and Keys"),
    (win("Pinentry-gtk-2", "pinentry-gtk-2"), "pinentry"),
    (win("Gcr-prompter", "Unlock private key"), "GNOME password prompt"),
    (win(None, "Untitled", process="pinentry-qt"), "pinentry"),
])
def test_password_managers_are_never_captured(window: WindowInfo, name: str) -> None:
    decision = should_capture(window, DEFAULTS)
    assert decision == Decision(False, f"excluded app: {name}")


@pytest.mark.parametrize("window, browser", [
    (win("firefox", "GitHub — Mozilla Firefox Private Browsing"), "Firefox"),
    (win("firefox", "Mozilla Firefox Private Browsing"), "Firefox"),
    (win("firefox", "Search results — Private Browsing"), "Firefox"),
    (win("Google-chrome", "Gmail - Google Chrome (Incognito)"), "Chrome/Chromium"),
    (win("Chromium", "New Incognito tab - Chromium"), "Chrome/Chromium"),
    (win("Chromium", "Docs - Chromium - Incognito"), "Chrome/Chromium"),
    (win("Microsoft-edge", "New InPrivate tab - [InPrivate] - Microsoft Edge"), "Edge"),
    (win("msedge", "Bing - InPrivate - Microsoft\u200b Edge"), "Edge"),
    (win("Brave-browser", "Example - Brave (Private)"), "Brave"),
    (win("Brave-browser", "Example - Brave - Private"), "Brave"),
    (win("Tor Browser", "Onion site"), "Tor Browser"),
])
def test_private_browser_windows_are_not_captured(window: WindowInfo, browser: str) -> None:
    decision = should_capture(window, DEFAULTS)
    assert not decision.allowed
    assert decision.reason == f"private browser window ({browser})"


def test_private_windows_can_be_allowed_but_password_managers_cannot() -> None:
    settings = PrivacySettings(capture_private_windows=True)
    assert should_capture(win("firefox", "Mail — Mozilla Firefox Private Browsing"), settings).allowed
    assert not should_capture(win("KeePassXC", "x - KeePassXC"), settings).allowed


@pytest.mark.parametrize("window", [
    win("engram", "Engram — Ask"),
    win("python3", "Engram"),
    win(None, "Engram Search"),
    win("Engram", "Settings"),
])
def test_engram_windows_are_not_captured(window: WindowInfo) -> None:
    assert should_capture(window, DEFAULTS) == Decision(False, "Engram's own window")


@pytest.mark.parametrize("window", [
    win("firefox", "How to use Bitwarden with Firefox — Mozilla Firefox"),
    win("firefox", "Private Browsing tips from Mozilla - Mozilla Support — Mozilla Firefox"),
    win("Google-chrome", "Incognito mode explained - Google Chrome"),
    win("Slack", "#design - Private - Acme - Slack"),
    win("code", "password_reset.py - engram-backend - Visual Studio Code"),
    win("org.gnome.Nautilus", "Passwords"),
    win("firefox", "Seahorse - Wikipedia — Mozilla Firefox"),
    win("XTerm", "ana@laptop: ~/src/memory-engine"),
    win("libreoffice-writer", "Private notes.odt - LibreOffice Writer"),
])
def test_ordinary_windows_are_captured(window: WindowInfo) -> None:
    assert should_capture(window, DEFAULTS) == Decision(True, "allowed")


def test_unknown_window_is_not_captured_unless_allowed() -> None:
    assert should_capture(None, DEFAULTS) == Decision(False, "active window unknown")
    assert should_capture(None, PrivacySettings(capture_unknown=True)).allowed


def test_user_excluded_apps_by_name_glob_and_regex() -> None:
    settings = PrivacySettings(excluded_apps=("Signal", "*banking*", "re:^thunder"))
    assert should_capture(win("Signal", "Signal"), settings) == Decision(False, "excluded app: Signal")
    assert not should_capture(win(None, "Note to self", process="signal-desktop"), settings).allowed
    assert should_capture(win("MyBankingApp", "Accounts"), settings).reason == \
        "excluded app: *banking*"
    assert not should_capture(win("Thunderbird", "Inbox"), settings).allowed
    assert should_capture(win("firefox", "Signal blog — Mozilla Firefox"), settings).allowed


def test_user_excluded_titles_by_glob_and_regex() -> None:
    settings = PrivacySettings(excluded_titles=("*online banking*", r"re:\bpayroll\b", "re:(broken"))
    d = should_capture(win("firefox", "ACME Online Banking — Mozilla Firefox"), settings)
    assert d == Decision(False, "excluded title: *online banking*")
    assert not should_capture(win("libreoffice", "Payroll 2024.ods"), settings).allowed
    assert should_capture(win("libreoffice", "Payrolls.ods"), settings).allowed  # \b


def test_settings_from_mapping() -> None:
    s = PrivacySettings.from_mapping({
        "screen_excluded_apps": ["Signal", " "],
        "screen_excluded_titles": "*bank*",
        "screen_capture_unknown_windows": True,
        "unrelated": 1,
    })
    assert s == PrivacySettings(excluded_apps=("Signal",), excluded_titles=("*bank*",),
                                capture_unknown=True)
    assert PrivacySettings.from_mapping({}) == PrivacySettings()
