from django.urls import path

from apps.articles import views

app_name = "articles"
urlpatterns = [
    path("", views.article_list, name="list"),
    path("new/", views.article_new, name="new"),
    path("<uuid:uuid>/", views.article_detail, name="detail"),
    path("<uuid:uuid>/details/", views.article_details, name="details"),
    path("<uuid:uuid>/proposals/<int:pk>/accept/", views.proposal_decide, {"action": "accept"}, name="accept"),
    path("<uuid:uuid>/proposals/<int:pk>/reject/", views.proposal_decide, {"action": "reject"}, name="reject"),
    path("<uuid:uuid>/proposals/<int:pk>/corroborate/", views.proposal_decide, {"action": "corroborate"},
         name="corroborate"),
    path("<uuid:uuid>/mentions/<int:index>/entity/", views.mention_entity, name="mention_entity"),
    path("<uuid:uuid>/mentions/<int:index>/link/", views.mention_link, name="mention_link"),
]
