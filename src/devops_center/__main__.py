from devops_center.cli import main

main()
