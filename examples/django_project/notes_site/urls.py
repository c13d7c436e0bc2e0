from django.urls import path
from summaries import views

urlpatterns = [
    path("health/", views.health),
    path("api/summaries/", views.summarise),
    path("api/summaries/stream/", views.summarise_stream),
    path("api/action-items/", views.action_items),
]
