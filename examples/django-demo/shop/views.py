"""Two JSON views: a product page and an order's total."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from .models import Order, Product


def product(request, slug):
    item = get_object_or_404(Product.objects.select_related("category"), slug=slug)
    return JsonResponse(
        {
            "name": item.name,
            "category": item.category.name,
            "price": str(item.price),
            "in_stock": item.stock > 0,
        }
    )


def order_total(request, number):
    order = get_object_or_404(Order.objects.select_related("currency", "coupon"), number=number)
    return JsonResponse(
        {"number": order.number, "total": str(order.total()), "currency": str(order.currency)}
    )
