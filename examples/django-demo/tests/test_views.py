import pytest
from django.contrib.auth.models import Permission, User


def test_product_page(client, novel):
    response = client.get("/products/a-novel/")
    assert response.status_code == 200
    assert response.json() == {
        "name": "A Novel",
        "category": "Books",
        "price": "12.50",
        "in_stock": True,
    }


@pytest.mark.django_db
def test_unknown_product_is_404(client):
    assert client.get("/products/nothing/").status_code == 404


def test_order_total_view(client, order):
    assert client.get("/orders/A-1001/total/").json() == {
        "number": "A-1001",
        "total": "25.00",
        "currency": "EUR",
    }


@pytest.mark.django_db
def test_the_shop_models_have_permissions():
    # Made by Django's post_migrate signal after the test database is built.
    assert Permission.objects.filter(content_type__app_label="shop").count() == 4 * 10


@pytest.mark.django_db
def test_staff_see_the_admin_index(client):
    staff = User.objects.create(username="staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/products/nothing/").status_code == 404
    assert User.objects.filter(is_staff=True).count() == 1
