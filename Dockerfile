# One image for the server and the trainer (docker-compose.yaml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RS_DATA_DIR=/data \
    RS_MODEL_DIR=/data/models

WORKDIR /app

# The CPU build of PyTorch: the default wheel on PyPI carries several GB of CUDA libraries.
COPY requirements.txt .
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install -r requirements.txt

COPY . .
RUN python manage.py collectstatic --noinput \
    && useradd --system --home /app recommender \
    && mkdir -p /data/models \
    && chown -R recommender /data

USER recommender
EXPOSE 8000
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "rs_project.wsgi"]
