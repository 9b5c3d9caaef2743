from tests.adapters.console.conftest import Client, create, finish_runs


async def test_pages_render(signed_in: Client) -> None:
    created = await create(signed_in, n=3)
    await finish_runs(signed_in)
    for path in [
        "/ui/",
        "/ui/campaigns",
        f"/ui/campaigns/{created['id']}",
        "/ui/sessions",
        "/ui/audit",
        "/ui/campaigns/new",
        f"/ui/campaigns/{created['id']}/cancel",
        "/ui/audit/verify",
        "/ui/nope",
    ]:
        r = await signed_in.get(path)
        text = await r.text()
        print(path, r.status, len(text))
        assert r.status in (200, 404), text[:3000]
