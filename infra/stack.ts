// The genre-classifier installation on AWS as one stack: network, storage, databases and the
// services, wired together, with the certificate, the image, the DNS record and the outputs an
// operator needs.
import { CfnOutput, CfnParameter, Stack, type StackProps } from "aws-cdk-lib";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as route53 from "aws-cdk-lib/aws-route53";
import * as targets from "aws-cdk-lib/aws-route53-targets";
import type { Construct } from "constructs";
import { Databases } from "./database.ts";
import { Network } from "./network.ts";
import type { DeploymentParameters } from "./parameters.ts";
import { Services } from "./services.ts";
import { Storage } from "./storage.ts";
import { suppressReviewedFindings } from "./suppressions.ts";

export interface GenreClassifierStackProps extends StackProps {
  parameters: DeploymentParameters;
}

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([\w][\w.-]*)|@(sha256:[a-f0-9]{64}))$/;

export class GenreClassifierStack extends Stack {
  readonly parameters: DeploymentParameters;
  readonly network: Network;
  readonly storage: Storage;
  readonly databases: Databases;
  readonly services: Services;

  constructor(scope: Construct, id: string, props: GenreClassifierStackProps) {
    super(scope, id, props);
    const { parameters } = props;
    this.parameters = parameters;
    this.templateOptions.description =
      "genre-classifier: serve, scheduler and workers on ECS Fargate, PostgreSQL, Redis, S3 and the reports on CloudFront";

    const zone =
      parameters.hostedZoneId && parameters.hostedZoneName
        ? route53.HostedZone.fromHostedZoneAttributes(this, "Zone", {
            hostedZoneId: parameters.hostedZoneId,
            zoneName: parameters.hostedZoneName,
          })
        : undefined;

    this.network = new Network(this, "Network", parameters);
    this.storage = new Storage(this, "Storage");
    this.databases = new Databases(this, "Databases", this.network, parameters);
    this.services = new Services(this, "Services", {
      network: this.network,
      storage: this.storage,
      databases: this.databases,
      parameters,
      image: this.image(parameters),
      certificate: this.certificate(parameters, zone),
    });

    const loadBalancer = this.services.loadBalancer;
    if (zone && parameters.domainName) {
      new route53.ARecord(this, "ServiceAlias", {
        zone,
        recordName: parameters.domainName,
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(loadBalancer)),
      });
    }
    new CfnOutput(this, "ServiceUrl", {
      description: "The UI and APIs (the certificate's name must point at the load balancer)",
      value: `https://${parameters.domainName ?? loadBalancer.loadBalancerDnsName}/`,
    });
    new CfnOutput(this, "LoadBalancerDnsName", { value: loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, "ReportsUrl", {
      description: "The monitoring reports through CloudFront",
      value: `https://${this.storage.reportsDistribution.distributionDomainName}/monitoring/index.html`,
    });
    new CfnOutput(this, "DataBucket", { value: this.storage.data.bucketName });
    new CfnOutput(this, "ServerTokenSecret", {
      description: "aws secretsmanager get-secret-value --secret-id <this> for the UI login",
      value: this.services.serverToken.secretArn,
    });
    new CfnOutput(this, "ClusterName", { value: this.services.cluster.clusterName });
    // What `aws ecs run-task` needs for a one-off command (flows run, deploy) on the worker's
    // task definition: its subnets and security group.
    const worker = this.services.worker;
    new CfnOutput(this, "OneOffTaskDefinition", {
      description: "Task definition for one-off commands (container name: worker)",
      value: worker.taskDefinition.taskDefinitionArn,
    });
    new CfnOutput(this, "OneOffTaskSubnets", {
      value: this.network.vpc.selectSubnets(this.network.taskSubnets).subnetIds.join(","),
    });
    new CfnOutput(this, "OneOffTaskSecurityGroup", {
      value: worker.connections.securityGroups.map((group) => group.securityGroupId).join(","),
    });

    suppressReviewedFindings(this);
  }

  /** The image: a full reference (an ECR one gets pull rights), or a tag in this account's ECR. */
  private image(parameters: DeploymentParameters): ecs.ContainerImage {
    if (parameters.image) {
      const ecrImage = ECR_IMAGE.exec(parameters.image);
      if (!ecrImage) return ecs.ContainerImage.fromRegistry(parameters.image);
      const [, account, region, name, tag, digest] = ecrImage;
      const repository = ecr.Repository.fromRepositoryAttributes(this, "ImageRepository", {
        repositoryName: name as string,
        repositoryArn: `arn:${this.partition}:ecr:${region}:${account}:repository/${name}`,
      });
      return ecs.ContainerImage.fromEcrRepository(repository, tag ?? digest);
    }
    const tag =
      parameters.imageTag ??
      new CfnParameter(this, "ImageTag", {
        type: "String",
        description: `Tag of the genre-classifier image in the ECR repository ${parameters.imageRepository}`,
        allowedPattern: "^[\\w][\\w.-]{0,127}$",
      }).valueAsString;
    const repository = ecr.Repository.fromRepositoryName(
      this,
      "ImageRepository",
      parameters.imageRepository,
    );
    return ecs.ContainerImage.fromEcrRepository(repository, tag);
  }

  /** An existing certificate, a new one validated in the hosted zone, or a stack parameter. */
  private certificate(
    parameters: DeploymentParameters,
    zone: route53.IHostedZone | undefined,
  ): acm.ICertificate {
    if (parameters.certificateArn)
      return acm.Certificate.fromCertificateArn(this, "Certificate", parameters.certificateArn);
    if (zone && parameters.domainName)
      return new acm.Certificate(this, "Certificate", {
        domainName: parameters.domainName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
    const arn = new CfnParameter(this, "CertificateArn", {
      type: "String",
      description: "ACM certificate of the load balancer's HTTPS listener",
      allowedPattern: "^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[A-Za-z0-9-]+$",
    });
    return acm.Certificate.fromCertificateArn(this, "Certificate", arn.valueAsString);
  }
}
