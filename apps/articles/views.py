"""Article intake pages: thin views behind login and a curation role (the services check
the exact permission again); every write is a POST with Django's CSRF protection."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.articles import selectors, services
from apps.articles.forms import AcceptForm, ArticleForm, DetailsForm, MentionEntityForm
from apps.articles.models import Article, Proposal
from apps.articles.mentions import entity_search
from apps.articles.reading import DocumentError, read_document, read_pasted
from apps.catalog.models import Entity
from apps.curation.forms import errors_to_form
from apps.curation.views import curator_required


def _article(uuid) -> Article:
    return get_object_or_404(Article.objects.select_related("source"), source__uuid=uuid)


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(f"{'' if k == '__all__' else k + ': '}{' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


@curator_required
def article_list(request):
    return render(request, "articles/list.html", {"articles": selectors.article_list()[:200]})


@curator_required
def article_new(request):
    if not request.user.has_perm("catalog.add_source"):
        raise PermissionDenied("Only editors, reviewers and admins may add articles.")
    form = ArticleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            if upload is not None:
                document = read_document(upload.read(), filename=upload.name)
            else:
                document = read_pasted(form.cleaned_data["text"])
            article = services.article_create(user=request.user, document=document, overrides=form.overrides())
        except DocumentError as exc:
            form.add_error("file" if upload is not None else "text", str(exc))
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            for note in article.notes:
                messages.warning(request, note)
            messages.success(request, f"Article stored: {article.proposals.count()} proposed record(s). "
                                      "Check the details the document states, then the proposals.")
            return redirect("articles:detail", uuid=article.source.uuid)
    return render(request, "articles/new.html", {"form": form})


@curator_required
def article_detail(request, uuid):
    article = _article(uuid)
    context = selectors.article_page(article)
    context["details_form"] = DetailsForm(instance=article.source)
    return render(request, "articles/detail.html", context)


@require_POST
@curator_required
def article_details(request, uuid):
    article = _article(uuid)
    form = DetailsForm(request.POST, instance=article.source)
    if form.is_valid():
        try:
            services.article_details_update(user=request.user, article=article,
                                            **{k: form.cleaned_data[k] for k in DetailsForm.Meta.fields})
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, "Details saved.")
    else:
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect("articles:detail", uuid=uuid)


@require_POST
@curator_required
def proposal_decide(request, uuid, pk, action):
    article = _article(uuid)
    proposal = get_object_or_404(Proposal, pk=pk, article=article)
    try:
        if action == "reject":
            services.proposal_reject(user=request.user, proposal=proposal)
            messages.success(request, "Proposal rejected.")
        elif action == "corroborate":
            record = services.proposal_corroborate(user=request.user, proposal=proposal)
            messages.success(request, f"The article is now a further source of “{record}”.")
        else:
            form = AcceptForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors)
            parties = {}
            for end in ("subject", "object"):
                party = form.party(end)
                if "uuid" in party:
                    parties[end] = get_object_or_404(Entity, uuid=party["uuid"])
                else:
                    parties[f"{end}_name"], parties[f"{end}_kind"] = party["name"], party["kind"]
            amount = form.cleaned_data["amount"]
            record = services.proposal_accept(
                user=request.user, proposal=proposal, kind=form.cleaned_data["kind"],
                date=form.cleaned_data["date"], amount=amount,
                currency=form.cleaned_data["currency"].upper() if amount is not None else "", **parties)
            messages.success(request, f"Draft record “{record}” saved with its quote: it is in the review queue.")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except PermissionDenied as exc:  # e.g. an editor citing a published record: a reviewer must
        messages.error(request, str(exc))
    return redirect(reverse("articles:detail", kwargs={"uuid": uuid}) + f"#proposal-{pk}")


@require_POST
@curator_required
def mention_link(request, uuid, index):
    """Link a mention to the entity the catalogue's search finds best for the typed name."""
    article = _article(uuid)
    query = (request.POST.get("q") or "").strip()
    hits = entity_search(q=query, include_unpublished=True, limit=1) if query else []
    if not hits:
        messages.error(request, f"No entity matches “{query}”." if query else "Type the entity's name.")
        return redirect("articles:detail", uuid=uuid)
    try:
        entity = services.mention_entity_link(user=request.user, article=article, index=index,
                                              entity=Entity.objects.get(pk=hits[0].entity_id))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Linked to {entity.name}; the name is now one of its aliases.")
    return redirect("articles:detail", uuid=uuid)


@require_POST
@curator_required
def mention_entity(request, uuid, index):
    article = _article(uuid)
    form = MentionEntityForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors)
        entity = services.mention_entity_create(user=request.user, article=article, index=index,
                                                kind=form.cleaned_data["kind"])
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Draft entity “{entity.name}” created; the mention now links to it.")
    return redirect("articles:detail", uuid=uuid)
