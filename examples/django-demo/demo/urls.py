from django.urls import path

from shop import views

urlpatterns = [
    path("products/<slug:slug>/", views.product, name="product"),
    path("orders/<str:number>/total/", views.order_total, name="order-total"),
]
