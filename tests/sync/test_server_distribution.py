"""Catalog versions and the holiday calendar, published by the county admin, read by townships."""

from __future__ import annotations

import json

from app.domain.calendar import parse_holiday_file
from forms.catalog import catalog_sha256, catalog_to_dict, dump_catalog, load_demo_catalog

HOLIDAYS_2027 = {
    "years": [2027],
    "days": [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-02-07", "kind": "workday", "name": "春节调休"},
    ],
}


def catalog_text(version: str | None = None, name: str | None = None) -> str:
    data = catalog_to_dict(load_demo_catalog())
    if version:
        data["version"] = version
    if name:
        data["items"][0]["name"] = name
    return json.dumps(data, ensure_ascii=False)


def test_publish_and_read_the_catalog(client, creds):
    text = catalog_text()
    first = client.post("/api/v1/catalog", json={"content": text}, headers=creds.a)
    assert first.status_code == 201
    assert (
        client.post("/api/v1/catalog", json={"content": text}, headers=creds.a).status_code == 200
    )
    latest = client.get("/api/v1/catalog/latest", headers=creds.t).json()
    catalog = load_demo_catalog()
    assert latest["version"] == catalog.version and latest["items"] == len(catalog.items)
    assert latest["sha256"] == catalog_sha256(catalog)
    assert latest["content"] == dump_catalog(catalog)
    assert client.get(f"/api/v1/catalog/{catalog.version}", headers=creds.w).json() == latest


def test_latest_is_the_highest_version_number(client, creds):
    for version in ("2026.11.1", "2026.2.5", "2026.10.12"):
        client.post("/api/v1/catalog", json={"content": catalog_text(version)}, headers=creds.a)
    assert client.get("/api/v1/catalog/latest", headers=creds.t).json()["version"] == "2026.11.1"


def test_a_published_version_cannot_change(client, creds):
    client.post("/api/v1/catalog", json={"content": catalog_text()}, headers=creds.a)
    changed = catalog_text(name="改名后的事项")
    response = client.post("/api/v1/catalog", json={"content": changed}, headers=creds.a)
    assert response.status_code == 409 and "须使用新版本号" in response.json()["detail"]


def test_a_bad_catalog_is_422_with_the_loader_message(client, creds):
    response = client.post("/api/v1/catalog", json={"content": "{not json"}, headers=creds.a)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("事项目录有误，未发布：\n事项目录不是有效的 JSON")


def test_nothing_published_is_404(client, creds):
    for path in ("/api/v1/catalog/latest", "/api/v1/catalog/2026.1.1", "/api/v1/holidays"):
        response = client.get(path, headers=creds.t)
        assert response.status_code == 404 and response.json()["detail"].startswith("县级")


def test_holidays_replace_the_years_uploaded(client, creds):
    assert client.post("/api/v1/holidays", json=HOLIDAYS_2027, headers=creds.a).status_code == 200
    later = {"years": [2028], "days": [{"date": "2028-01-01", "kind": "holiday", "name": "元旦"}]}
    client.post("/api/v1/holidays", json=later, headers=creds.a)
    fixed = {"years": [2027], "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    client.post("/api/v1/holidays", json=fixed, headers=creds.a)
    release = client.get("/api/v1/holidays", headers=creds.t).json()
    assert release["years"] == [2027, 2028]
    assert [d["date"] for d in release["days"]] == ["2027-01-01", "2028-01-01"]
    years, days = parse_holiday_file(
        json.dumps({"years": release["years"], "days": release["days"]})
    )
    assert years == {2027, 2028} and len(days) == 2


def test_holiday_sha_changes_only_with_content(client, creds):
    client.post("/api/v1/holidays", json=HOLIDAYS_2027, headers=creds.a)
    first = client.get("/api/v1/holidays", headers=creds.t).json()["sha256"]
    client.post("/api/v1/holidays", json=HOLIDAYS_2027, headers=creds.a)
    assert client.get("/api/v1/holidays", headers=creds.t).json()["sha256"] == first


def test_a_doubtful_holiday_file_is_refused_with_the_domain_message(client, creds):
    weekday_as_workday = {
        "years": [2027],
        "days": [{"date": "2027-01-04", "kind": "workday", "name": "调休"}],
    }
    response = client.post("/api/v1/holidays", json=weekday_as_workday, headers=creds.a)
    assert response.status_code == 422
    assert "本来就是工作日" in response.json()["detail"]
    assert client.get("/api/v1/holidays", headers=creds.t).status_code == 404
