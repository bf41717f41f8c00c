"""`/store_object` and `/store_objects` through HTTP, with every payload exactly as the ecoseller
backend builds it (contract section 2.3): stored values, re-sending, soft deletes."""

import datetime as dt
import json
from decimal import Decimal
from uuid import UUID

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import (
    ProductAddToCart,
    ProductDetailEnter,
    ProductDetailLeave,
    RecommendationView,
    Review,
    Session,
)
from modelstore.models import ConfigVersion, TrainerQueueItem
from products.models import (
    Attribute,
    AttributeProductVariant,
    AttributeType,
    AttributeTypeProductType,
    Category,
    CategoryAncestor,
    Order,
    OrderProductVariant,
    Product,
    ProductPrice,
    ProductProductVariant,
    ProductTranslation,
    ProductType,
    ProductVariant,
)

UTC = dt.UTC
ORDER_TOKEN = "3f1c6a3e-8a0b-4c55-9d4e-2b7f0c1d9e11"
SESSION = "6f9619ff-8b86-4d11-b42d-00c04fc964ff"


def post(path: str, body) -> "object":
    return APIClient().post(path, json.dumps(body), content_type="application/json")


def snapshot() -> dict[str, list]:
    """Every stored row of the catalogue, feedback and model store, without link-table ids."""

    def rows(model, *exclude):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in exclude]
        return sorted(tuple(str(v) for v in row) for row in model.objects.values_list(*fields))

    return {
        model.__name__: rows(model, "id")
        if model
        in (
            AttributeProductVariant,
            AttributeTypeProductType,
            ProductProductVariant,
            CategoryAncestor,
            OrderProductVariant,
        )
        else rows(model)
        for model in (
            Attribute,
            AttributeType,
            AttributeTypeProductType,
            AttributeProductVariant,
            Category,
            CategoryAncestor,
            Order,
            OrderProductVariant,
            Product,
            ProductPrice,
            ProductProductVariant,
            ProductTranslation,
            ProductType,
            ProductVariant,
            ProductDetailEnter,
            ProductDetailLeave,
            ProductAddToCart,
            RecommendationView,
            Review,
            Session,
            ConfigVersion,
            TrainerQueueItem,
        )
    }


def assert_resend_changes_nothing(path: str, body) -> None:
    before = snapshot()
    response = post(path, body)
    assert response.status_code == 200
    assert snapshot() == before


# --- one test per class -------------------------------------------------------------------


ATTRIBUTE_TYPE = {"_model_class": "AttributeType", "id": 4, "type": "CATEGORICAL", "type_name": "COLOR", "unit": None}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_attribute_type_is_stored_idempotently_and_soft_deleted():
    response = post("/store_object", ATTRIBUTE_TYPE)

    assert response.status_code == 200
    assert response.json() == {"stored": {"AttributeType": 1}}
    assert list(AttributeType.objects.values()) == [
        {"id": 4, "type": "CATEGORICAL", "type_name": "COLOR", "unit": None, "deleted": False}
    ]
    assert_resend_changes_nothing("/store_object", ATTRIBUTE_TYPE)

    # A payload with `deleted` is the ecoseller's extension type unless it says otherwise.
    assert post("/store_object", {**ATTRIBUTE_TYPE, "deleted": True, "extension": False}).status_code == 200
    assert list(AttributeType.objects.values_list("id", "deleted")) == [(4, True)]


ATTRIBUTE = {
    "_model_class": "Attribute",
    "id": 10,
    "type": 4,
    "raw_value": "1.5",
    "order": 2,
    "ext_attributes": [11, 12],
    "deleted": False,
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_attribute_is_stored_with_its_numeric_value_idempotently_and_soft_deleted():
    response = post("/store_object", ATTRIBUTE)

    assert response.status_code == 200
    assert list(Attribute.objects.values()) == [
        {
            "id": 10,
            "attribute_type_id": 4,
            "raw_value": "1.5",
            "numeric_value": 1.5,
            "order": 2,
            "parent_attribute_id": None,
            "deleted": False,
        }
    ]
    assert_resend_changes_nothing("/store_object", ATTRIBUTE)

    assert post("/store_object", {**ATTRIBUTE, "deleted": True}).status_code == 200
    assert list(Attribute.objects.values_list("id", "deleted")) == [(10, True)]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_attribute_with_a_null_or_text_raw_value_has_no_numeric_value():
    response = post("/store_objects", [{**ATTRIBUTE, "raw_value": None}, {**ATTRIBUTE, "id": 11, "raw_value": "red"}])

    assert response.status_code == 200
    assert sorted(Attribute.objects.values_list("id", "raw_value", "numeric_value")) == [
        (10, None, None),
        (11, "red", None),
    ]


CATEGORY = {"_model_class": "Category", "id": 2, "parent_id": 1, "deleted": False}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_category_is_stored_with_its_closure_idempotently_and_soft_deleted():
    post("/store_object", {"_model_class": "Category", "id": 1, "parent_id": None, "deleted": False})

    response = post("/store_object", CATEGORY)

    assert response.status_code == 200
    assert sorted(Category.objects.values_list("id", "parent_id", "deleted")) == [(1, None, False), (2, 1, False)]
    assert sorted(CategoryAncestor.objects.values_list("category_id", "category_ancestor_id")) == [
        (1, 1),
        (2, 1),
        (2, 2),
    ]
    assert_resend_changes_nothing("/store_object", CATEGORY)

    assert post("/store_object", {**CATEGORY, "deleted": True}).status_code == 200
    assert sorted(Category.objects.values_list("id", "deleted")) == [(1, False), (2, True)]
    assert sorted(CategoryAncestor.objects.values_list("category_id", "category_ancestor_id")) == [
        (1, 1),
        (2, 1),
        (2, 2),
    ]


DASHBOARD_CONFIG = {
    "_model_class": "Config",
    "models": [
        {"name": name, "title": name.title()}
        for name in ("dummy", "selection", "popularity", "similarity", "gru4rec", "ease")
    ],
    "info": {"retrievalSize": {"title": "Retrieval size"}},
    "retrievalSize": 500,
    "orderingSize": 40,
    "homepageRetrievalCascade": ["popularity", "ease", "selection"],
    "homepageScoringCascade": ["ease", "gru4rec", "popularity", "selection"],
    "categoryListRetrievalCascade": None,
    "categoryListScoringCascade": ["ease", "gru4rec", "popularity", "selection"],
    "productDetailRetrievalCascade": ["similarity", "popularity", "selection"],
    "productDetailScoringCascade": ["ease", "gru4rec", "similarity", "popularity", "selection"],
    "cartRetrievalCascade": ["similarity", "popularity", "selection"],
    "cartScoringCascade": ["ease", "gru4rec", "similarity", "popularity", "selection"],
    "easeConfig": {"l2Options": [1, 10], "reviewsMultiplier": 0.5},
    "gru4recConfig": {
        "numEpochsOptions": [5],
        "batchSizeOptions": [32],
        "embeddingSizeOptions": [0],
        "hiddenSizeOptions": [50],
        "learningRateOptions": [0.05],
        "incrementalTrainings": 10,
        "eventsMultiplier": 10,
    },
    "modelsDisabled": {"4": True},
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_config_page_state_is_stored_as_a_version_once():
    response = post("/store_object", DASHBOARD_CONFIG)

    assert response.status_code == 200
    version = ConfigVersion.objects.get()
    assert version.created_by == "api"
    assert version.data["retrieval_size"] == 500
    assert version.data["ordering_size"] == 40
    assert version.data["homepage_retrieval_cascade"] == ["popularity", "ease", "selection"]
    assert version.data["models_disabled"] == {"gru4rec": True}
    assert version.data["ease_config"]["l2_options"] == [1.0, 10.0]
    assert version.data["gru4rec_config"]["hidden_size_options"] == [50]
    assert_resend_changes_nothing("/store_object", DASHBOARD_CONFIG)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_config_keyed_by_model_name_is_stored():
    response = post("/store_object", {"_model_class": "Config", "modelsDisabled": {"ease": True}})

    assert response.status_code == 200
    assert ConfigVersion.objects.get().data["models_disabled"] == {"ease": True}


ORDER = {
    "_model_class": "Order",
    "token": ORDER_TOKEN,
    "session_id": SESSION,
    "product_variants": [["sku-1", 2], ["sku-2", 1]],
    "customer_email": "alice@example.com",
    "order": {"token": ORDER_TOKEN, "items": []},
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_order_is_stored_with_its_lines_idempotently_and_soft_deleted():
    before = dt.datetime.now(UTC)

    response = post("/store_object", ORDER)

    order = Order.objects.get()
    assert response.status_code == 200
    assert (order.token, order.session_id, order.user_id, order.deleted) == (UUID(ORDER_TOKEN), SESSION, None, False)
    assert before <= order.create_at <= dt.datetime.now(UTC)
    assert sorted(OrderProductVariant.objects.values_list("order_id", "product_variant_sku", "quantity")) == [
        (UUID(ORDER_TOKEN), "sku-1", 2),
        (UUID(ORDER_TOKEN), "sku-2", 1),
    ]
    assert_resend_changes_nothing("/store_object", ORDER)

    assert post("/store_object", {**ORDER, "deleted": True}).status_code == 200
    assert list(Order.objects.values_list("token", "deleted")) == [(UUID(ORDER_TOKEN), True)]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_order_sent_again_replaces_its_lines():
    post("/store_object", ORDER)

    response = post("/store_object", {**ORDER, "product_variants": [["sku-2", 3], ["sku-3", 1], ["sku-3", 1]]})

    assert response.status_code == 200
    assert Order.objects.count() == 1
    assert sorted(OrderProductVariant.objects.values_list("product_variant_sku", "quantity")) == [
        ("sku-2", 3),
        ("sku-3", 2),
    ]


PRODUCT = {
    "_model_class": "Product",
    "id": 7,
    "published": True,
    "type": 3,
    "category_id": 2,
    "product_translations": [
        {
            "id": 70,
            "language_code": "en",
            "title": "Shirt",
            "meta_title": "Shirt | Shop",
            "description": "<p>Cotton</p>",
            "meta_description": "A shirt",
            "short_description": None,
            "slug": "shirt",
        },
        {
            "id": 71,
            "language_code": "cs",
            "title": "Košile",
            "meta_title": "Košile",
            "description": None,
            "meta_description": "",
            "short_description": "Bavlna",
            "slug": "kosile",
        },
    ],
    "product_variants": ["sku-1", "sku-2"],
    "update_at": "2023-07-01T10:00:00.123456+00:00",
    "create_at": "2023-07-01T10:00:00.123456+00:00",
    "deleted": False,
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_is_stored_with_type_variants_and_translations_idempotently_and_soft_deleted():
    response = post("/store_object", PRODUCT)

    assert response.status_code == 200
    created = dt.datetime(2023, 7, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert list(Product.objects.values()) == [
        {
            "id": 7,
            "published": True,
            "category_id": 2,
            "product_type_id": 3,
            "update_at": created,
            "create_at": created,
            "deleted": False,
        }
    ]
    assert sorted(ProductProductVariant.objects.values_list("product_id", "product_variant_id")) == [
        (7, "sku-1"),
        (7, "sku-2"),
    ]
    assert sorted(
        ProductTranslation.objects.values_list(
            "id",
            "product_id",
            "language_code",
            "title",
            "meta_title",
            "meta_description",
            "short_description",
            "description",
            "slug",
            "deleted",
        )
    ) == [
        (70, 7, "en", "Shirt", "Shirt | Shop", "A shirt", None, "<p>Cotton</p>", "shirt", False),
        (71, 7, "cs", "Košile", "Košile", "", "Bavlna", None, "kosile", False),
    ]
    assert_resend_changes_nothing("/store_object", PRODUCT)

    assert post("/store_object", {**PRODUCT, "deleted": True}).status_code == 200
    assert list(Product.objects.values_list("id", "deleted")) == [(7, True)]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_accepts_type_id_and_replaces_its_variants_and_translations():
    post("/store_object", PRODUCT)

    response = post(
        "/store_object",
        {
            **{k: v for k, v in PRODUCT.items() if k != "type"},
            "type_id": 5,
            "product_variants": ["sku-3"],
            "product_translations": PRODUCT["product_translations"][:1],
        },
    )

    assert response.status_code == 200
    assert list(Product.objects.values_list("product_type_id", flat=True)) == [5]
    assert list(ProductProductVariant.objects.values_list("product_variant_id", flat=True)) == ["sku-3"]
    assert sorted(ProductTranslation.objects.values_list("id", "deleted")) == [(70, False), (71, True)]


EVENT = {
    "_model_class": "ProductAddToCart",
    "session_id": SESSION,
    "user_id": None,
    "product_id": 7,
    "product_variant_sku": "sku-1",
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_add_to_cart_is_stored_with_the_time_of_receipt_and_its_session():
    before = dt.datetime.now(UTC)

    response = post("/store_objects", [EVENT])

    after = dt.datetime.now(UTC)
    event = ProductAddToCart.objects.get()
    assert response.status_code == 200
    assert (event.session_id, event.user_id, event.product_id, event.product_variant_sku) == (SESSION, None, 7, "sku-1")
    assert before <= event.create_at <= after
    session = Session.objects.get()
    assert (session.id, session.user_id, session.visited_product_variants, session.create_at) == (
        SESSION,
        None,
        [],
        event.create_at,
    )


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_event_sent_again_without_a_time_is_a_new_event():
    post("/store_objects", [EVENT])

    response = post("/store_objects", [EVENT])

    assert response.status_code == 200
    assert ProductAddToCart.objects.count() == 2
    assert Session.objects.count() == 1


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_imported_event_with_its_time_is_stored_once_and_deleted_is_ignored():
    event = {**EVENT, "create_at": "2023-05-04T08:09:10", "deleted": True}
    response = post("/store_objects", [event])

    assert response.status_code == 200
    assert list(ProductAddToCart.objects.values_list("create_at", flat=True)) == [
        dt.datetime(2023, 5, 4, 8, 9, 10, tzinfo=UTC)
    ]
    assert_resend_changes_nothing("/store_objects", [event])


ENTER = {
    "_model_class": "ProductDetailEnter",
    "session_id": SESSION,
    "user_id": None,
    "product_id": 7,
    "product_variant_sku": "sku-1",
}
RS_INFO = {
    "recommendation_type": "PRODUCT_DETAIL",
    "model_identifier": "similarity-20230701",
    "model_name": "similarity",
    "position": 3,
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_detail_enter_with_and_without_rs_info_is_stored_and_visited():
    response = post("/store_objects", [ENTER, {**ENTER, "product_variant_sku": "sku-2", **RS_INFO}])

    assert response.status_code == 200
    assert list(
        ProductDetailEnter.objects.order_by("id").values_list(
            "product_variant_sku", "recommendation_type", "model_identifier", "model_name", "position"
        )
    ) == [
        ("sku-1", None, None, None, None),
        ("sku-2", "PRODUCT_DETAIL", "similarity-20230701", "similarity", 3),
    ]
    assert Session.objects.get().visited_product_variants == ["sku-1", "sku-2"]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_detail_enters_append_to_the_visited_list_across_batches_and_sessions():
    post("/store_objects", [ENTER, {**ENTER, "session_id": "other", "product_variant_sku": "sku-9"}])

    response = post(
        "/store_objects", [{**ENTER, "product_variant_sku": "sku-2"}, {**ENTER, "product_variant_sku": "sku-1"}]
    )

    assert response.status_code == 200
    assert dict(Session.objects.values_list("id", "visited_product_variants")) == {
        SESSION: ["sku-1", "sku-2", "sku-1"],
        "other": ["sku-9"],
    }


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_user_ids_may_be_an_int_a_string_or_null():
    response = post(
        "/store_objects",
        [
            {**ENTER, "session_id": "a", "user_id": 42},
            {**ENTER, "session_id": "b", "user_id": "alice@example.com"},
            {**ENTER, "session_id": "c", "user_id": None},
        ],
    )

    assert response.status_code == 200
    assert sorted(ProductDetailEnter.objects.values_list("session_id", "user_id")) == [
        ("a", "42"),
        ("b", "alice@example.com"),
        ("c", None),
    ]
    assert sorted(Session.objects.values_list("id", "user_id")) == [
        ("a", "42"),
        ("b", "alice@example.com"),
        ("c", None),
    ]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_create_at_from_the_payload_is_honoured_and_naive_times_are_utc():
    response = post(
        "/store_objects",
        [
            {**ENTER, "create_at": "2023-01-02T03:04:05.000006"},
            {**ENTER, "product_variant_sku": "sku-2", "create_at": "2023-01-02T05:04:05+02:00"},
        ],
    )

    assert response.status_code == 200
    assert list(ProductDetailEnter.objects.order_by("id").values_list("create_at", flat=True)) == [
        dt.datetime(2023, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC),
    ]
    session = Session.objects.get()
    assert (session.create_at, session.update_at) == (
        dt.datetime(2023, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        dt.datetime(2023, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    )


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_detail_leave_is_stored():
    response = post("/store_objects", [{**ENTER, "_model_class": "ProductDetailLeave", "time_spent": 12.5}])

    assert response.status_code == 200
    assert list(
        ProductDetailLeave.objects.values_list("session_id", "product_id", "product_variant_sku", "time_spent")
    ) == [(SESSION, 7, "sku-1", 12.5)]
    assert Session.objects.get().visited_product_variants == []


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_recommendation_view_is_stored():
    response = post("/store_objects", [{**ENTER, "_model_class": "RecommendationView", **RS_INFO}])

    assert response.status_code == 200
    assert list(
        RecommendationView.objects.values_list(
            "session_id", "product_variant_sku", "recommendation_type", "model_identifier", "model_name", "position"
        )
    ) == [(SESSION, "sku-1", "PRODUCT_DETAIL", "similarity-20230701", "similarity", 3)]


PRICE = {
    "_model_class": "ProductPrice",
    "id": 5,
    "price_list_code": "czk_maloobchod",
    "product_variant_sku": "sku-1",
    "price": 199.9,
    "update_at": "2023-07-02T10:00:00",
    "create_at": "2023-07-01T10:00:00",
    "deleted": False,
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_price_is_stored_idempotently_and_soft_deleted():
    response = post("/store_object", PRICE)

    assert response.status_code == 200
    assert list(ProductPrice.objects.values()) == [
        {
            "id": 5,
            "price_list_code": "czk_maloobchod",
            "product_variant_sku": "sku-1",
            "price": Decimal("199.900000"),
            "update_at": dt.datetime(2023, 7, 2, 10, tzinfo=UTC),
            "create_at": dt.datetime(2023, 7, 1, 10, tzinfo=UTC),
            "deleted": False,
        }
    ]
    assert_resend_changes_nothing("/store_object", PRICE)

    assert post("/store_object", {**PRICE, "deleted": True}).status_code == 200
    assert list(ProductPrice.objects.values_list("id", "deleted")) == [(5, True)]


TRANSLATION = {
    "_model_class": "ProductTranslation",
    "id": 72,
    "product_id": 7,
    "language_code": "de",
    "title": "Hemd",
    "meta_title": "Hemd",
    "meta_description": "",
    "short_description": None,
    "description": None,
    "slug": "hemd",
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_translation_sent_alone_is_stored_idempotently_and_soft_deleted():
    response = post("/store_object", TRANSLATION)

    assert response.status_code == 200
    assert list(ProductTranslation.objects.values()) == [
        {
            "id": 72,
            "product_id": 7,
            "language_code": "de",
            "title": "Hemd",
            "meta_title": "Hemd",
            "meta_description": "",
            "short_description": None,
            "description": None,
            "slug": "hemd",
            "deleted": False,
        }
    ]
    assert_resend_changes_nothing("/store_object", TRANSLATION)

    assert post("/store_object", {**TRANSLATION, "deleted": True}).status_code == 200
    assert list(ProductTranslation.objects.values_list("id", "deleted")) == [(72, True)]


PRODUCT_TYPE = {
    "_model_class": "ProductType",
    "id": 3,
    "name": None,
    "attribute_types": [4, 5],
    "products": [7],
    "update_at": "2023-07-01T10:00:00",
    "create_at": "2023-07-01T10:00:00",
    "deleted": False,
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_type_with_a_null_name_is_stored_with_its_attribute_types_idempotently_and_soft_deleted():
    response = post("/store_object", PRODUCT_TYPE)

    assert response.status_code == 200
    created = dt.datetime(2023, 7, 1, 10, tzinfo=UTC)
    assert list(ProductType.objects.values()) == [
        {"id": 3, "name": None, "update_at": created, "create_at": created, "deleted": False}
    ]
    assert sorted(AttributeTypeProductType.objects.values_list("product_type_id", "attribute_type_id")) == [
        (3, 4),
        (3, 5),
    ]
    assert_resend_changes_nothing("/store_object", PRODUCT_TYPE)

    assert post("/store_object", {**PRODUCT_TYPE, "deleted": True, "attribute_types": [5]}).status_code == 200
    assert list(ProductType.objects.values_list("id", "deleted")) == [(3, True)]
    assert list(AttributeTypeProductType.objects.values_list("attribute_type_id", flat=True)) == [5]


VARIANT = {
    "_model_class": "ProductVariant",
    "sku": "sku-1",
    "ean": "8594000000001",
    "weight": 0.3,
    "stock_quantity": 12,
    "recommendation_weight": 0.5,
    "update_at": "2023-07-01T11:00:00",
    "create_at": "2023-07-01T10:00:00",
    "attributes": [10, 11],
    "deleted": False,
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_variant_is_stored_with_its_attributes_idempotently_and_soft_deleted():
    response = post("/store_object", VARIANT)

    assert response.status_code == 200
    assert list(ProductVariant.objects.values()) == [
        {
            "sku": "sku-1",
            "ean": "8594000000001",
            "weight": 0.3,
            "stock_quantity": 12,
            "recommendation_weight": 0.5,
            "update_at": dt.datetime(2023, 7, 1, 11, tzinfo=UTC),
            "create_at": dt.datetime(2023, 7, 1, 10, tzinfo=UTC),
            "deleted": False,
        }
    ]
    assert sorted(AttributeProductVariant.objects.values_list("product_variant_id", "attribute_id")) == [
        ("sku-1", 10),
        ("sku-1", 11),
    ]
    assert_resend_changes_nothing("/store_object", VARIANT)

    assert post("/store_object", {**VARIANT, "deleted": True}).status_code == 200
    assert list(ProductVariant.objects.values_list("sku", "deleted")) == [("sku-1", True)]


REVIEW = {
    "_model_class": "Review",
    "id": 900,
    "session_id": SESSION,
    "user_id": 42,
    "product_id": 7,
    "product_variant_sku": "sku-1",
    "rating": 4,
    "create_at": "2023-06-01T12:00:00",
}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_review_is_stored_and_upserted_by_id():
    response = post("/store_objects", [REVIEW])

    assert response.status_code == 200
    created = dt.datetime(2023, 6, 1, 12, tzinfo=UTC)
    assert list(Review.objects.values()) == [
        {
            "id": 900,
            "session_id": SESSION,
            "user_id": "42",
            "product_id": 7,
            "product_variant_sku": "sku-1",
            "rating": 4,
            "update_at": created,
            "create_at": created,
        }
    ]
    assert Session.objects.get().user_id == "42"
    assert_resend_changes_nothing("/store_objects", [REVIEW])

    assert post("/store_objects", [{**REVIEW, "rating": 2, "update_at": "2023-06-02T12:00:00"}]).status_code == 200
    assert list(Review.objects.values_list("id", "rating", "update_at", "create_at")) == [
        (900, 2, dt.datetime(2023, 6, 2, 12, tzinfo=UTC), created)
    ]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_trainer_queue_item_is_queued_once_for_the_api():
    response = post("/store_object", {"_model_class": "TrainerQueueItem", "model_name": "ease"})

    assert response.status_code == 200
    assert list(TrainerQueueItem.objects.values_list("model_name", "status", "full_train", "requested_by")) == [
        ("ease", "PENDING", None, "api")
    ]
    assert_resend_changes_nothing("/store_object", {"_model_class": "TrainerQueueItem", "model_name": "ease"})


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_write_does_not_enqueue_a_training():
    response = post("/store_objects", [PRODUCT, VARIANT, ENTER, REVIEW, ORDER])

    assert response.status_code == 200
    assert response.json() == {
        "stored": {"ProductVariant": 1, "Product": 1, "Order": 1, "ProductDetailEnter": 1, "Review": 1}
    }
    assert TrainerQueueItem.objects.count() == 0


# --- categories ---------------------------------------------------------------------------


def category(category_id: int, parent_id: int | None) -> dict:
    return {"_model_class": "Category", "id": category_id, "parent_id": parent_id, "deleted": False}


def closure() -> list[tuple[int, int]]:
    return sorted(CategoryAncestor.objects.values_list("category_id", "category_ancestor_id"))


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_category_closure_is_complete_when_children_arrive_before_parents():
    post("/store_object", category(3, 2))
    post("/store_objects", [category(6, 3), category(2, 1)])

    response = post("/store_object", category(1, None))

    assert response.status_code == 200
    assert closure() == [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (6, 1), (6, 2), (6, 3), (6, 6)]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_moving_a_category_moves_its_whole_subtree():
    post("/store_objects", [category(1, None), category(2, 1), category(3, 2), category(4, 3), category(5, None)])

    response = post("/store_object", category(3, 5))

    assert response.status_code == 200
    assert closure() == [(1, 1), (2, 1), (2, 2), (3, 3), (3, 5), (4, 3), (4, 4), (4, 5), (5, 5)]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_category_cycle_is_rejected_and_nothing_is_stored():
    post("/store_objects", [category(1, None), category(2, 1), category(3, 2)])
    before = snapshot()

    response = post("/store_objects", [ENTER, category(1, 3)])

    assert response.status_code == 400
    assert response.json() == {"1": {"parent_id": ["Category 1 would become its own ancestor."]}}
    assert snapshot() == before
