"""Serverless and cloud-native evidence reaching OP-1, OP-2, OP-D1 and DS-1, on real fixture repositories.

One project per kind (Terraform AWS, Terraform Azure, Bicep, CDK Python, CDK TypeScript, serverless.yml, SAM,
Azure Functions, DigitalOcean), each with a credited side and a side that must not be credited.
"""

from __future__ import annotations

from harness.model import Outcome
from tests.conftest import run_check


def outcomes(check_id: str, path, outcome: Outcome) -> list[str]:
    """Each finding with that outcome as its reason followed by its evidence summaries."""
    return [
        " | ".join([f.reason, *(e.summary for e in f.evidence)])
        for f in run_check(check_id, path)
        if f.outcome is outcome
    ]


def has(reasons: list[str], *words: str) -> bool:
    return any(all(w in r for w in words) for r in reasons)


# -- Terraform AWS -------------------------------------------------------------------------------
TF_AWS = """\
resource "aws_sns_topic" "ops" { name = "ops" }

resource "aws_sns_topic_subscription" "ops_mail" {
  topic_arn = aws_sns_topic.ops.arn
  protocol  = "email"
  endpoint  = "ops@example.org"
}

resource "aws_lambda_function" "api" {
  function_name = "api"
  handler       = "handler.main"
  runtime       = "python3.12"
  layers        = ["arn:aws:lambda:eu-west-2:580247275435:layer:LambdaInsightsExtension:38"]
}

resource "aws_api_gateway_rest_api" "api" { name = "api" }

resource "aws_api_gateway_resource" "health" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "health"
}

resource "aws_apigatewayv2_route" "status" {
  api_id    = "x"
  route_key = "GET /v2/healthz"
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "lambda-errors"
  metric_name         = "Errors"
  namespace           = "AWS/Lambda"
  threshold           = 1
  evaluation_periods  = 2
  comparison_operator = "GreaterThanOrEqualToThreshold"
  alarm_actions       = [aws_sns_topic.ops.arn]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = "api"
  dashboard_body = jsonencode({
    widgets = [{ type = "metric", properties = { metrics = [["AWS/Lambda", "Errors"]] } }]
  })
}

resource "aws_cloudfront_distribution" "site" {
  default_cache_behavior {
    viewer_protocol_policy = "redirect-to-https"
  }
}

resource "aws_lb_listener" "http" {
  port     = 80
  protocol = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}
"""
HANDLER_AWS = """\
import boto3

cloudwatch = boto3.client("cloudwatch")


def main(event, context):
    if event["rawPath"] == "/health":
        return {"statusCode": 200, "body": "ok"}
    cloudwatch.put_metric_data(
        Namespace="Shop",
        MetricData=[{"MetricName": "OrdersPlaced", "Value": 1, "Unit": "Count"}],
    )
    return {"statusCode": 201}
"""


def test_terraform_aws_credited(make_repo):
    repo = make_repo()
    repo.write("infra/main.tf", TF_AWS).write("src/handler.py", HANDLER_AWS).commit("serverless api")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /health", "infra/main.tf")
    assert has(mon, "Lambda Insights collects their CPU and memory")
    assert outcomes("repo.monitoring-config", repo.path, Outcome.FAIL) == []
    alerts = outcomes("repo.alert-rules", repo.path, Outcome.PASS)
    assert has(alerts, "1 cloud alarm(s) notify someone", "errors")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.PASS), "cloudwatch dashboard 'main'")
    assert has(outcomes("repo.custom-metrics", repo.path, Outcome.PASS), "OrdersPlaced")
    https = outcomes("repo.https-config", repo.path, Outcome.PASS)
    assert outcomes("repo.https-config", repo.path, Outcome.FAIL) == []
    assert has(https, "API Gateway")


def test_terraform_aws_not_credited(make_repo):
    silent = (
        TF_AWS.replace("alarm_actions       = [aws_sns_topic.ops.arn]", "alarm_actions       = []")
        .replace('"redirect-to-https"', '"allow-all"')
        .replace('path_part   = "health"', 'path_part   = "orders"')
        .replace("GET /v2/healthz", "GET /v2/orders")
    )
    repo = make_repo()
    repo.write("infra/main.tf", silent).write("src/handler.py", HANDLER_AWS.replace("/health", "/orders"))
    repo.commit("serverless api")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "cloud alarms notify no one", "errors")
    assert not has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone")
    assert has(outcomes("repo.monitoring-config", repo.path, Outcome.FAIL), "no health-check route", "/orders")
    assert has(outcomes("repo.https-config", repo.path, Outcome.FAIL), "allow-all")


def test_terraform_lb_listener_forwarding_plain_http_fails(make_repo):
    tf = 'resource "aws_lb_listener" "http" {\n  protocol = "HTTP"\n  default_action {\n    type = "forward"\n  }\n}\n'
    repo = make_repo()
    repo.write("main.tf", tf).commit("lb")
    assert has(outcomes("repo.https-config", repo.path, Outcome.FAIL), "forwards plain HTTP")
    https = 'resource "aws_lb_listener" "https" {\n  port = 443\n  protocol = "HTTPS"\n  certificate_arn = "arn:x"\n}\n'
    repo.write("main.tf", https).commit("https listener")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "HTTPS listener with a certificate")


# -- Terraform Azure ---------------------------------------------------------------------------------
TF_AZURE = """\
resource "azurerm_application_insights" "ai" {
  name             = "app-ai"
  application_type = "web"
}

resource "azurerm_monitor_action_group" "ops" {
  name       = "ops"
  short_name = "ops"
  email_receiver {
    name          = "ops"
    email_address = "ops@example.org"
  }
}

resource "azurerm_linux_function_app" "api" {
  name       = "api"
  https_only = true
}

resource "azurerm_monitor_metric_alert" "cpu" {
  name   = "cpu-high"
  scopes = [azurerm_linux_function_app.api.id]
  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "CpuTime"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 80
  }
  action {
    action_group_id = azurerm_monitor_action_group.ops.id
  }
}

resource "azurerm_portal_dashboard" "board" {
  name                 = "api"
  dashboard_properties = <<DASH
{"lenses": {"0": {"parts": {"0": {"metadata": {"inputs": [{"name": "options",
  "value": {"chart": {"metrics": [{"name": "Requests"}]}}}]}}}}}}
DASH
}
"""
AZ_FUNCTION_APP = """\
import azure.functions as func
from applicationinsights import TelemetryClient

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
telemetry = TelemetryClient("key")


@app.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")


@app.route(route="orders", methods=["POST"])
def orders(req: func.HttpRequest) -> func.HttpResponse:
    telemetry.track_metric("orders_placed", 1)
    return func.HttpResponse("created", status_code=201)
"""


def test_terraform_azure_credited(make_repo):
    repo = make_repo()
    repo.write("infra/main.tf", TF_AZURE).write("function_app.py", AZ_FUNCTION_APP).commit("azure")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /health", "function_app.py")
    assert has(mon, "CPU/RAM are watched by cloud alarms", "CpuTime")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone", "cpu")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.PASS), "azure dashboard 'board'")
    assert has(outcomes("repo.custom-metrics", repo.path, Outcome.PASS), "orders_placed")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "https_only = true")
    assert outcomes("repo.https-config", repo.path, Outcome.FAIL) == []


def test_terraform_azure_not_credited(make_repo):
    bad = TF_AZURE.replace("https_only = true", "https_only = false")
    bad = bad.replace("  action {\n    action_group_id = azurerm_monitor_action_group.ops.id\n  }\n", "")
    repo = make_repo()
    repo.write("infra/main.tf", bad).write("function_app.py", AZ_FUNCTION_APP).commit("azure")
    assert has(outcomes("repo.https-config", repo.path, Outcome.FAIL), "https_only = false")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "cpu")


# -- Bicep ---------------------------------------------------------------------------------------------
BICEP = """\
param location string = resourceGroup().location

resource site 'Microsoft.Web/sites@2022-09-01' = {
  name: 'api'
  location: location
  kind: 'functionapp'
  properties: {
    httpsOnly: true
  }
}

resource ag 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ops'
  location: 'global'
  properties: {
    groupShortName: 'ops'
    enabled: true
  }
}

resource memAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'memory-high'
  location: 'global'
  properties: {
    severity: 2
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'mem'
          metricName: 'MemoryWorkingSet'
          operator: 'GreaterThan'
          threshold: 500000000
          timeAggregation: 'Average'
        }
      ]
    }
    actions: [
      {
        actionGroupId: ag.id
      }
    ]
  }
}

resource board 'Microsoft.Portal/dashboards@2020-09-01-preview' = {
  name: 'api-board'
  location: location
  properties: {
    lenses: [
      {
        order: 0
        parts: [
          {
            position: { x: 0, y: 0, colSpan: 6, rowSpan: 4 }
            metadata: { type: 'Extension/HubsExtension/PartType/MonitorChartPart', metricName: 'Requests' }
          }
        ]
      }
    ]
  }
}
"""


def test_bicep_credited(make_repo):
    repo = make_repo()
    repo.write("infra/main.bicep", BICEP).write("function_app.py", AZ_FUNCTION_APP).commit("bicep")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone", "memAlert")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.PASS), "azure dashboard 'board'")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "httpsOnly: true")
    assert has(outcomes("repo.code-and-iac", repo.path, Outcome.PASS), "bicep")


def test_bicep_not_credited(make_repo):
    bad = BICEP.replace("httpsOnly: true", "httpsOnly: false")
    bad = bad.replace("    actions: [\n      {\n        actionGroupId: ag.id\n      }\n    ]\n", "    actions: []\n")
    repo = make_repo()
    repo.write("infra/main.bicep", bad).write("function_app.py", AZ_FUNCTION_APP).commit("bicep")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "memAlert")
    assert has(outcomes("repo.https-config", repo.path, Outcome.FAIL), "httpsOnly: false")


# -- CDK in Python ---------------------------------------------------------------------------------------
CDK_PY = """\
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_sns as sns


class ApiStack(Stack):
    def __init__(self, scope, id, **kwargs):
        super().__init__(scope, id, **kwargs)
        fn = _lambda.Function(self, "Api", runtime=_lambda.Runtime.PYTHON_3_12, handler="app.main",
                              insights_version=_lambda.LambdaInsightsVersion.VERSION_1_0_229_0,
                              code=_lambda.Code.from_asset("lambda"))
        api = apigw.LambdaRestApi(self, "Rest", handler=fn, proxy=False)
        api.root.add_resource("health").add_method("GET")
        topic = sns.Topic(self, "Ops")
        errors = cloudwatch.Alarm(self, "Errors", metric=fn.metric_errors(), threshold=1, evaluation_periods=1)
        errors.add_alarm_action(cw_actions.SnsAction(topic))
        board = cloudwatch.Dashboard(self, "Board")
        board.add_widgets(cloudwatch.GraphWidget(title="Errors", left=[fn.metric_errors()]))
        cloudfront.Distribution(self, "Site", default_behavior=cloudfront.BehaviorOptions(
            origin=origin, viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS))
"""
LAMBDA_POWERTOOLS = """\
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="Shop")


@metrics.log_metrics
def main(event, context):
    metrics.add_metric(name="BasketsCheckedOut", unit=MetricUnit.Count, value=1)
    return {"statusCode": 200}
"""


def test_cdk_python_credited(make_repo):
    repo = make_repo()
    repo.write("cdk.json", '{"app": "python3 app.py"}').write("stacks/api_stack.py", CDK_PY)
    repo.write("lambda/app.py", LAMBDA_POWERTOOLS).commit("cdk")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /health", "stacks/api_stack.py")
    assert has(mon, "Lambda Insights")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone", "Errors")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.PASS), "cloudwatch dashboard 'Board'", "Errors")
    assert has(outcomes("repo.custom-metrics", repo.path, Outcome.PASS), "BasketsCheckedOut")
    https = outcomes("repo.https-config", repo.path, Outcome.PASS)
    assert has(https, "API Gateway") or has(https, "REDIRECT_TO_HTTPS")
    assert outcomes("repo.https-config", repo.path, Outcome.FAIL) == []


def test_cdk_python_not_credited(make_repo):
    bad = CDK_PY.replace("        errors.add_alarm_action(cw_actions.SnsAction(topic))\n", "")
    bad = bad.replace("REDIRECT_TO_HTTPS", "ALLOW_ALL")
    bad = bad.replace("insights_version=_lambda.LambdaInsightsVersion.VERSION_1_0_229_0,", "")
    bad = bad.replace('api.root.add_resource("health")', 'api.root.add_resource("orders")')
    repo = make_repo()
    repo.write("cdk.json", '{"app": "python3 app.py"}').write("stacks/api_stack.py", bad)
    repo.write("lambda/app.py", LAMBDA_POWERTOOLS).commit("cdk")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "Errors")
    assert has(outcomes("repo.https-config", repo.path, Outcome.FAIL), "ViewerProtocolPolicy.ALLOW_ALL")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.FAIL)
    assert has(mon, "no health-check route") and has(mon, "no CPU and memory monitoring")


# -- CDK in TypeScript ----------------------------------------------------------------------------------
CDK_TS = """\
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';

export class ApiStack extends cdk.Stack {
  constructor(scope: cdk.App, id: string) {
    super(scope, id);
    const fn = new lambda.Function(this, 'Api', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset('lambda'),
      insightsVersion: lambda.LambdaInsightsVersion.VERSION_1_0_229_0,
    });
    const api = new apigw.RestApi(this, 'Rest');
    api.root.addResource('health').addMethod('GET', new apigw.LambdaIntegration(fn));
    const topic = new sns.Topic(this, 'Ops');
    const errors = fn.metricErrors().createAlarm(this, 'Errors', { threshold: 1, evaluationPeriods: 1 });
    errors.addAlarmAction(new actions.SnsAction(topic));
    const board = new cloudwatch.Dashboard(this, 'Board');
    board.addWidgets(new cloudwatch.GraphWidget({ title: 'Errors', left: [fn.metricErrors()] }));
  }
}
"""
LAMBDA_EMF_JS = """\
const { metricScope, Unit } = require('aws-embedded-metrics');

exports.handler = metricScope((metrics) => async (event) => {
  metrics.putMetric('CartsAbandoned', 1, Unit.Count);
  return { statusCode: 200 };
});
"""


def test_cdk_typescript_credited(make_repo):
    repo = make_repo()
    repo.write("cdk.json", '{"app": "npx ts-node bin/app.ts"}').write("lib/api-stack.ts", CDK_TS)
    repo.write("lambda/index.js", LAMBDA_EMF_JS).commit("cdk ts")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /health", "lib/api-stack.ts")
    assert has(mon, "Lambda Insights")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone", "Errors")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.PASS), "cloudwatch dashboard 'Board'", "Errors")
    assert has(outcomes("repo.custom-metrics", repo.path, Outcome.PASS), "CartsAbandoned")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "API Gateway")


def test_cdk_typescript_not_credited(make_repo):
    bad = CDK_TS.replace("    errors.addAlarmAction(new actions.SnsAction(topic));\n", "")
    bad = bad.replace(
        "    board.addWidgets(new cloudwatch.GraphWidget({ title: 'Errors', left: [fn.metricErrors()] }));\n", ""
    )
    repo = make_repo()
    repo.write("cdk.json", '{"app": "npx ts-node bin/app.ts"}').write("lib/api-stack.ts", bad)
    repo.write("lambda/index.js", LAMBDA_EMF_JS).commit("cdk ts")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "Errors")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.WARN), "'Board'", "no panel")
    assert not outcomes("repo.dashboards", repo.path, Outcome.PASS)


# -- serverless.yml ----------------------------------------------------------------------------------------
SERVERLESS_YML = """\
service: shop
provider:
  name: aws
  runtime: python3.12
custom:
  lambdaInsights:
    defaultLambdaInsights: true
functions:
  health:
    handler: handler.health
    events:
      - http:
          path: health
          method: get
  orders:
    handler: handler.orders
    events:
      - httpApi: 'POST /orders'
resources:
  Resources:
    Ops:
      Type: AWS::SNS::Topic
    ErrorsAlarm:
      Type: AWS::CloudWatch::Alarm
      Properties:
        MetricName: Errors
        Namespace: AWS/Lambda
        Threshold: 1
        EvaluationPeriods: 1
        ComparisonOperator: GreaterThanOrEqualToThreshold
        AlarmActions:
          - !Ref Ops
"""
HANDLER_EMF = """\
from aws_embedded_metrics import metric_scope


def health(event, context):
    return {"statusCode": 200}


@metric_scope
def orders(event, context, metrics):
    metrics.put_metric("OrdersPlaced", 1, "Count")
    return {"statusCode": 201}
"""


def test_serverless_framework_credited(make_repo):
    repo = make_repo()
    repo.write("serverless.yml", SERVERLESS_YML).write("handler.py", HANDLER_EMF).commit("sls")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /health", "serverless.yml")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone", "ErrorsAlarm")
    assert has(outcomes("repo.custom-metrics", repo.path, Outcome.PASS), "OrdersPlaced")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "API Gateway")
    assert has(outcomes("repo.code-and-iac", repo.path, Outcome.PASS), "serverless")


def test_serverless_framework_not_credited(make_repo):
    bad = SERVERLESS_YML.replace("        AlarmActions:\n          - !Ref Ops\n", "")
    bad = bad.replace("path: health", "path: orders/{id}")
    repo = make_repo()
    repo.write("serverless.yml", bad).write("handler.py", HANDLER_EMF).commit("sls")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "ErrorsAlarm")
    assert has(outcomes("repo.monitoring-config", repo.path, Outcome.FAIL), "no health-check route")


# -- SAM ------------------------------------------------------------------------------------------------------
SAM = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Layers:
        - !Sub arn:aws:lambda:${AWS::Region}:580247275435:layer:LambdaInsightsExtension:38
      Events:
        Health:
          Type: Api
          Properties:
            Path: /health
            Method: get
  Topic:
    Type: AWS::SNS::Topic
  MemoryAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: memory_utilization
      Namespace: LambdaInsights
      Threshold: 80
      EvaluationPeriods: 3
      ComparisonOperator: GreaterThanThreshold
      AlarmActions: [!Ref Topic]
  Board:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardBody: '{"widgets":[{"type":"metric","properties":{"metrics":[["AWS/Lambda","Errors"]]}}]}'
"""


def test_sam_credited(make_repo):
    repo = make_repo()
    repo.write("template.yaml", SAM).write("src/app.py", "def handler(event, context):\n    return {}\n")
    repo.commit("sam")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /health", "template.yaml")
    assert has(mon, "CPU/RAM are watched by cloud alarms", "MemoryAlarm")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.PASS), "notify someone", "MemoryAlarm")
    assert has(outcomes("repo.dashboards", repo.path, Outcome.PASS), "cloudwatch dashboard 'Board'")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "API Gateway")


def test_sam_not_credited(make_repo):
    bad = SAM.replace("      AlarmActions: [!Ref Topic]\n", "      AlarmActions: []\n").replace("/health", "/orders")
    repo = make_repo()
    repo.write("template.yaml", bad).write("src/app.py", "def handler(event, context):\n    return {}\n")
    repo.commit("sam")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "MemoryAlarm")
    assert has(outcomes("repo.monitoring-config", repo.path, Outcome.FAIL), "no health-check route", "/orders")


# -- Azure Functions (function.json and the JavaScript v4 model) -------------------------------------------------
def test_azure_functions_routes_credited(make_repo):
    repo = make_repo()
    binding = '{"bindings": [{"type": "httpTrigger", "direction": "in", "route": "healthz", "methods": ["get"]}]}'
    repo.write("HealthCheck/function.json", binding).write(
        "HealthCheck/__init__.py", "def main(req):\n    return 'ok'\n"
    )
    repo.write(
        "src/functions/status.js",
        "const { app } = require('@azure/functions');\n"
        "app.http('status', { methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ body: 'ok' }) });\n",
    )
    repo.commit("functions")
    mon = outcomes("repo.monitoring-config", repo.path, Outcome.PASS)
    assert has(mon, "health check at /healthz", "HealthCheck/function.json")


def test_azure_functions_without_health_route_not_credited(make_repo):
    repo = make_repo()
    binding = '{"bindings": [{"type": "httpTrigger", "direction": "in", "methods": ["post"]}]}'
    repo.write("CreateOrder/function.json", binding).write(
        "CreateOrder/__init__.py", "def main(req):\n    return 'ok'\n"
    )
    repo.commit("functions")
    assert has(outcomes("repo.monitoring-config", repo.path, Outcome.FAIL), "no health-check route", "/CreateOrder")


# -- DigitalOcean -----------------------------------------------------------------------------------------------
DO_TF = """\
resource "digitalocean_droplet" "web" {
  image      = "ubuntu-22-04-x64"
  name       = "web"
  size       = "s-1vcpu-1gb"
  monitoring = true
}

resource "digitalocean_monitor_alert" "cpu" {
  alerts {
    email = ["ops@example.org"]
  }
  window      = "5m"
  type        = "v1/insights/droplet/cpu"
  compare     = "GreaterThan"
  value       = 80
  enabled     = true
  entities    = [digitalocean_droplet.web.id]
  description = "CPU high"
}

resource "digitalocean_loadbalancer" "public" {
  name                   = "web"
  redirect_http_to_https = true
}
"""


def test_digitalocean_credited(make_repo):
    repo = make_repo()
    repo.write("main.tf", DO_TF).commit("do")
    alerts = run_check("repo.alert-rules", repo.path)
    assert has([f.reason for f in alerts if f.outcome is Outcome.PASS], "notify someone", "cpu")
    assert has([f.reason for f in alerts if f.outcome is Outcome.FAIL], "no alert", "memory")  # coverage still judged
    assert has(outcomes("repo.monitoring-config", repo.path, Outcome.PASS), "cloud alarms", "cpu")
    assert has(outcomes("repo.https-config", repo.path, Outcome.PASS), "redirect_http_to_https = true")


def test_digitalocean_not_credited(make_repo):
    bad = DO_TF.replace('email = ["ops@example.org"]', "email = []").replace("= true\n}", "= false\n}")
    repo = make_repo()
    repo.write("main.tf", bad).commit("do")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "cpu")
    assert has(outcomes("repo.https-config", repo.path, Outcome.FAIL), "redirect_http_to_https = false")


def test_azure_failed_requests_alert_covers_error_rate(make_repo):
    tf = TF_AZURE.replace('"cpu"', '"failures"').replace('"CpuTime"', '"FailedRequests"')
    repo = make_repo()
    repo.write("infra/main.tf", tf).write("function_app.py", AZ_FUNCTION_APP).commit("azure")
    [coverage] = [r for r in outcomes("repo.alert-rules", repo.path, Outcome.FAIL) if "covers" in r]
    assert "(covered: error rate: failures)" in coverage and "covers CPU, memory, availability" in coverage


SLS_ALERTS = """\
service: shop
provider:
  name: aws
custom:
  alerts:
    topics:
      alarm:
        topic: shop-alerts
        notifications:
          - protocol: email
            endpoint: ops@example.org
    definitions:
      memoryHigh:
        metric: MaxMemoryUsed
        threshold: 900
        evaluationPeriods: 2
    alarms:
      - functionErrors
functions:
  api:
    handler: handler.api
    alarms:
      - memoryHigh
"""


def test_serverless_framework_alerts_notify_through_an_alarm_topic(make_repo):
    repo = make_repo()
    repo.write("serverless.yml", SLS_ALERTS).write("handler.py", "def api(event, context):\n    return {}\n")
    repo.commit("alerts")
    passed = outcomes("repo.alert-rules", repo.path, Outcome.PASS)
    assert has(passed, "2 cloud alarm(s) notify someone", "functionErrors", "memoryHigh")
    coverage = [r for r in outcomes("repo.alert-rules", repo.path, Outcome.FAIL) if "covers" in r]
    assert coverage and "memory: memoryHigh" in coverage[0] and "error rate: functionErrors" in coverage[0]
    silent = SLS_ALERTS.replace(
        "    topics:\n      alarm:\n        topic: shop-alerts\n        notifications:\n"
        "          - protocol: email\n            endpoint: ops@example.org\n",
        "",
    )
    repo.write("serverless.yml", silent).commit("no topic")
    assert has(outcomes("repo.alert-rules", repo.path, Outcome.FAIL), "notify no one", "functionErrors")


def test_lambda_insights_in_a_comment_is_not_enabled(make_repo):
    tf = TF_AWS.replace(
        '  layers        = ["arn:aws:lambda:eu-west-2:580247275435:layer:LambdaInsightsExtension:38"]',
        '  # layers      = ["arn:aws:lambda:eu-west-2:580247275435:layer:LambdaInsightsExtension:38"]',
    )
    repo = make_repo()
    repo.write("infra/main.tf", tf).write("src/handler.py", HANDLER_AWS).commit("insights commented out")
    assert has(outcomes("repo.monitoring-config", repo.path, Outcome.FAIL), "no CPU and memory monitoring")
    assert not has(outcomes("repo.monitoring-config", repo.path, Outcome.PASS), "Lambda Insights")


def test_iac_text_inside_tests_is_not_the_stack(make_repo):
    fixture = 'STACK = """\nfrom aws_cdk import Stack\n"""\nBAD = "https_only = false"\n'
    cdk_test = "import { Template } from 'aws-cdk-lib/assertions';\ntest('stack', () => {});\n"
    repo = make_repo()
    repo.write("Caddyfile", "shop.example.org {\n  reverse_proxy app:8000\n}\n")
    repo.write("tests/test_https.py", fixture).write("test/stack.test.ts", cdk_test).commit("tests")
    assert outcomes("repo.https-config", repo.path, Outcome.FAIL) == []
    assert not has(outcomes("repo.code-and-iac", repo.path, Outcome.PASS), "cdk")
